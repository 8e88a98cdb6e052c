# Production image: gunicorn + whitenoise for web; the same image runs worker and beat.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 GONGZHI_VAR_DIR=/app/var
WORKDIR /app
COPY pyproject.toml README.md ./
COPY governance ./governance
COPY grids ./grids
COPY appeals ./appeals
COPY volunteers ./volunteers
COPY templates ./templates
COPY static ./static
COPY manage.py gunicorn.conf.py ./
RUN pip install --no-cache-dir -e . \
 && DEBUG=false SECRET_KEY=collectstatic-only STATIC_MANIFEST=true python manage.py collectstatic --noinput
RUN useradd --system --home /app gongzhi && mkdir -p /app/var && chown -R gongzhi /app/var
USER gongzhi
EXPOSE 8000
# gunicorn.conf.py (read from the working directory): the access log, masked.
CMD ["gunicorn", "governance.wsgi:application", "--config", "gunicorn.conf.py", "--bind", "0.0.0.0:8000", "--workers", "3"]
