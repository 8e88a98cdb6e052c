"""Real servers of a fault test's own: Redis, a PostgreSQL cluster, gunicorn serving the
portal, a Celery worker and beat — each on a free port, in a temporary folder, stopped at
the end. Nothing here touches the machine's shared PostgreSQL (5432) or Redis (6379).

The app's processes get their configuration from the environment, as in production
(``stack_env``); their SMS go through ``tests.fault.gateway.FileSmsBackend``, a gateway
that writes each send as a line of a file the test reads.
"""

import http.cookiejar
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, *, timeout: float, every: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


def missing_redis() -> str | None:
    return None if shutil.which("redis-server") and shutil.which("redis-cli") else "needs redis-server and redis-cli"


def missing_postgres_binaries() -> str | None:
    if not all((PG_BIN / name).exists() for name in ("initdb", "pg_ctl", "pg_basebackup", "psql")):
        return f"needs PostgreSQL's initdb, pg_ctl, pg_basebackup and psql in {PG_BIN}"
    if os.geteuid() == 0 and not shutil.which("runuser"):
        return "needs runuser (initdb and postgres refuse to run as root)"
    return None


# --- Redis ------------------------------------------------------------------------------------


class RedisServer:
    def __init__(self, folder: Path):
        self.port = free_port()
        self.folder = folder
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> "RedisServer":
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", str(self.folder)],
            stdout=open(self.folder / f"redis-{self.port}.log", "ab"), stderr=subprocess.STDOUT,
        )
        wait_for(lambda: self.cli("PING") == "PONG", timeout=10, what=f"redis on {self.port}")
        return self

    def cli(self, *args: str) -> str:
        result = subprocess.run(["redis-cli", "-p", str(self.port), *args], capture_output=True, text=True, timeout=5)
        return result.stdout.strip()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None


# --- PostgreSQL --------------------------------------------------------------------------------


class PostgresCluster:
    """initdb in a temporary folder (as the postgres user when run as root), trust
    authentication on 127.0.0.1, a port of its own."""

    def __init__(self, folder: Path):
        self.port = free_port()
        self.folder = folder
        self.data = folder / "data"

    def _run(self, *args, check=True, timeout=60):
        command = [str(a) for a in args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=check, timeout=timeout)

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def init(self) -> "PostgresCluster":
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run(PG_BIN / "initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--locale=C.UTF-8", "--no-sync")
        return self

    def init_standby_of(self, primary: "PostgresCluster") -> "PostgresCluster":
        """A hot standby of ``primary`` (which must be running): a base backup with its WAL
        streamed, and -R writes standby.signal and primary_conninfo, so that it streams from
        the primary once started (on its own port and socket folder)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run(PG_BIN / "pg_basebackup", "-h", "127.0.0.1", "-p", primary.port, "-U", "postgres", "-D", self.data,
                  "-X", "stream", "-R", "-c", "fast", "--no-sync", timeout=120)
        return self

    def start(self, *settings: str) -> None:
        """``settings``: more server settings, each ``name=value``."""
        extra = "".join(f" -c {item}" for item in settings)
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-l", self.folder / "server.log", "-w", "-t", "30", "-o",
                  f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.folder} "
                  f"-c fsync=off -c max_connections=60{extra}", "start")

    def sql(self, database: str, query: str) -> str:
        """One query through psql; its rows as text (unaligned, one row a line)."""
        return self._run(PG_BIN / "psql", "-h", "127.0.0.1", "-p", self.port, "-U", "postgres", "-d", database,
                         "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", query, timeout=30).stdout.strip()

    def stop(self, mode: str = "fast") -> None:
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "30", "stop", check=False)

    def createdb(self, name: str) -> None:
        self._run(PG_BIN / "createdb", "-h", "127.0.0.1", "-p", self.port, "-U", "postgres", name)


# --- the portal's processes --------------------------------------------------------------------


def stack_env(*, var: Path, database_url: str, sms_file: Path, extra: dict | None = None) -> dict:
    """The environment of the app's processes, as a deployment sets it."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CACHE_URL", "DJANGO_SETTINGS_MODULE",
                        "GONGZHI_NO_SKIP", "PYTEST_CURRENT_TEST"}}
    env.update(
        DJANGO_SETTINGS_MODULE="governance.settings", PYTHONPATH=str(ROOT), SECRET_KEY=secrets.token_urlsafe(48),
        GONGZHI_HTTPS="false", DEBUG="false", ALLOWED_HOSTS="127.0.0.1,localhost", SECURE_COOKIES="false", GONGZHI_VAR_DIR=str(var),
        DATABASE_URL=database_url, SMS_BACKEND="tests.fault.gateway.FileSmsBackend", FAULT_SMS_FILE=str(sms_file),
        APPEAL_INTAKE_RATE_PER_IP="100000/hour", LOG_LEVEL="INFO", OUTBOX_RELAY_SECONDS="1",
        CELERY_SKIP_CHECKS="1", PYTHONUNBUFFERED="1",
    )
    env.update(extra or {})
    return env


class Process:
    def __init__(self, name: str, command: list[str], env: dict, log: Path, *, wrap: list[str] | None = None):
        self.name, self.command, self.env, self.log = name, command, env, log
        self.wrap = wrap or []
        self.process = None

    def start(self) -> "Process":
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [*self.wrap, *self.command], cwd=ROOT, env=self.env, stdout=open(self.log, "ab"),
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        return self

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL, as the OOM killer or a lost machine would."""
        if self.alive():
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if not self.alive():
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.kill()


def gunicorn(env: dict, log: Path, *, port: int, workers: int = 2, wrap: list[str] | None = None) -> Process:
    return Process("gunicorn", [str(BIN / "gunicorn"), "governance.wsgi", "-b", f"127.0.0.1:{port}", "-w",
                                str(workers), "--timeout", "30", "--graceful-timeout", "5"], env, log, wrap=wrap)


def wait_until_serving(base: str, process: Process, timeout: float = 40) -> None:
    def answers():
        if not process.alive():
            raise AssertionError(f"gunicorn exited:\n{process.output()[-3000:]}")
        try:
            # A static file: not /healthz, whose broker answer a worker keeps for a minute.
            urllib.request.urlopen(base + "/static/css/app.css", timeout=5)
            return True
        except urllib.error.HTTPError:
            return True  # it answers
        except OSError:
            return False

    wait_for(answers, timeout=timeout, every=0.2, what="gunicorn to answer")


def worker(env: dict, log: Path, *, name: str) -> Process:
    """A worker of every queue, as the Procfile's (governance/settings.py CELERY_QUEUES_ALL)."""
    from django.conf import settings

    return Process("worker", [str(BIN / "celery"), "-A", "governance.celery", "worker", "-Q",
                              ",".join(settings.CELERY_QUEUES_ALL), "--pool", "solo", "--without-heartbeat", "--without-gossip", "--without-mingle", "-n", f"{name}@fault",
                              "--loglevel", "INFO"], env, log)


def wait_until_ready(process: Process, timeout: float = 40) -> None:
    wait_for(lambda: " ready." in process.output() or (not process.alive() and _died(process)), timeout=timeout,
             every=0.2, what=f"{process.name} to be ready")


def _died(process: Process):
    raise AssertionError(f"{process.name} exited:\n{process.output()[-3000:]}")


def beat(env: dict, log: Path, *, schedule: Path) -> Process:
    return Process("beat", [str(BIN / "celery"), "-A", "governance.celery", "beat", "-s", str(schedule),
                            "--loglevel", "INFO"], env, log)


# --- HTTP ------------------------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """A client with cookies that does not follow redirects; ``status`` of every request,
    never an exception for an HTTP error or a refused connection (status 0)."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect)

    def request(self, method: str, path: str, *, data: bytes | None = None, headers: dict | None = None,
                timeout: float = 30) -> tuple[int, bytes, dict]:
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers or {})
        try:
            with self.opener.open(request, timeout=timeout) as response:
                return response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(), dict(exc.headers)
        except OSError:
            return 0, b"", {}

    def get(self, path: str, **kw):
        return self.request("GET", path, **kw)

    def post_json(self, path: str, body: dict, **kw):
        return self.request("POST", path, data=json.dumps(body).encode(),
                            headers={"Content-Type": "application/json"}, **kw)

    def post_form(self, path: str, fields: dict, **kw):
        return self.request("POST", path, data=urllib.parse.urlencode(fields, doseq=True).encode(),
                            headers={"Content-Type": "application/x-www-form-urlencoded", "Referer": self.base + path},
                            **kw)

    def submit_form(self, fields: dict) -> int:
        """The web form as a resident sends it: the page first (its CSRF token), then the POST."""
        status, body, _headers = self.get("/submit/")
        if status != 200:
            return status
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
        status, _body, _headers = self.post_form("/submit/", {**fields, "csrfmiddlewaretoken": token.group(1).decode()})
        return status


def read_sms(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
