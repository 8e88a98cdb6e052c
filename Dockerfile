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
COPY manage.py ./
RUN pip install --no-cache-dir -e . \
 && DEBUG=false GONGZHI_HTTPS=false STATIC_MANIFEST=true \
    SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(48))')" \
    python manage.py collectstatic --noinput
RUN useradd --system --home /app gongzhi && mkdir -p /app/var && chown -R gongzhi /app/var
USER gongzhi
EXPOSE 8000
CMD ["gunicorn", "governance.wsgi:application", "--config", "python:governance.gunicorn_conf", "--bind", "0.0.0.0:8000"]
