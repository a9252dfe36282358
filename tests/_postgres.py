"""A throwaway PostgreSQL cluster for the registry tests: Debian's server binaries (``postgresql``), a fresh data
directory, TCP on 127.0.0.1 only, no unix socket. The random password goes to the server at ``initdb`` and to
clients through a 0600 pgpass file (``PGPASSFILE``): it is never on a command line, in a URI or in a log."""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

USER = "citymind"
DATABASE = "mlflow"
#: a test cluster: durability off, so start-up and MLflow's migrations take seconds
FAST = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


@dataclass(frozen=True)
class PostgresCluster:
    """A running server; ``uri`` carries no password (libpq reads it from ``pgpass``) and names the driver:
    SQLAlchemy 2.1 defaults ``postgresql://`` to psycopg 3, citymind's dev extra installs psycopg2."""

    port: int
    pgpass: Path
    data_root: Path
    proc: subprocess.Popen[bytes]

    @property
    def uri(self) -> str:
        return f"postgresql+psycopg2://{USER}@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def log(self) -> Path:
        return self.data_root / "postgres.log"


def bin_dir() -> Path | None:
    """The newest Debian PostgreSQL server (``/usr/lib/postgresql/NN/bin``), or ``initdb`` on PATH."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def unavailable_reason() -> str | None:
    """Why a PostgreSQL cluster cannot be started here, or None when it can."""
    if bin_dir() is None:
        return (
            "PostgreSQL server binaries are not installed (no /usr/lib/postgresql/*/bin/initdb): run "
            ".ci/install_postgres.sh as root (apt-get install postgresql) to run the registry tests on PostgreSQL"
        )
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        return "psycopg2 is not installed: pip install -e '.[dev,train]'"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' user to run the PostgreSQL server as"
    return None


def start(client_dir: Path, port: int, timeout: float = 60.0) -> PostgresCluster:
    """initdb a new cluster, start it on ``127.0.0.1:port`` and create the ``mlflow`` database."""
    bindir = bin_dir()
    assert bindir is not None, unavailable_reason()
    password = secrets.token_hex(24)
    as_server = _server_user()
    data_root = Path(tempfile.mkdtemp(prefix="citymind-pg-"))  # /tmp: the server user can reach it
    pwfile = data_root / "pwfile"
    pwfile.write_text(password + "\n")
    pwfile.chmod(0o600)
    if as_server:
        for path in (data_root, pwfile):
            os.chown(path, as_server["uid"], as_server["gid"])
    initdb = [str(bindir / "initdb"), "-D", str(data_root / "data"), "-U", USER, f"--pwfile={pwfile}"]
    try:
        subprocess.run(
            [*initdb, "-A", "scram-sha-256", "-E", "UTF8", "--no-locale", "--no-sync"],
            check=True,
            capture_output=True,
            timeout=120,
            **_run_as(as_server),
        )
    finally:
        pwfile.unlink(missing_ok=True)
    settings = ["listen_addresses=127.0.0.1", f"port={port}", "unix_socket_directories=", *FAST]
    log = open(data_root / "postgres.log", "wb")  # the server's stdout/stderr until it stops
    if as_server:
        os.chown(data_root / "postgres.log", as_server["uid"], as_server["gid"])
    proc = subprocess.Popen(
        [str(bindir / "postgres"), "-D", str(data_root / "data"), *(a for s in settings for a in ("-c", s))],
        stdout=log,
        stderr=subprocess.STDOUT,
        **_run_as(as_server),
    )
    log.close()
    pgpass = client_dir / "pgpass"
    pgpass.touch(mode=0o600)
    pgpass.write_text(f"127.0.0.1:{port}:*:{USER}:{password}\n")
    cluster = PostgresCluster(port, pgpass, data_root, proc)
    try:
        _create_database(cluster, password, timeout)
    except BaseException:
        stop(cluster)
        raise
    return cluster


def stop(cluster: PostgresCluster) -> None:
    """Fast shutdown (SIGINT), then remove the data directory."""
    if cluster.proc.poll() is None:
        cluster.proc.send_signal(signal.SIGINT)
        try:
            cluster.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            cluster.proc.kill()
            cluster.proc.wait(timeout=10)
    shutil.rmtree(cluster.data_root, ignore_errors=True)


def _create_database(cluster: PostgresCluster, password: str, timeout: float) -> None:
    import psycopg2

    deadline = time.monotonic() + timeout
    while True:
        if cluster.proc.poll() is not None:
            raise RuntimeError(f"PostgreSQL exited at start: {cluster.log.read_text(errors='replace')[-2000:]}")
        try:
            conn = psycopg2.connect(
                host="127.0.0.1", port=cluster.port, user=USER, password=password, dbname="postgres", connect_timeout=2
            )
            break
        except psycopg2.OperationalError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not accept connections on 127.0.0.1:{cluster.port}") from None
            time.sleep(0.2)
    with contextlib.closing(conn):
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {DATABASE}")


def _server_user() -> dict[str, int] | None:
    """PostgreSQL refuses to run as root: as root, run it as Debian's ``postgres`` user."""
    if os.geteuid() != 0:
        return None
    entry = pwd.getpwnam("postgres")
    return {"uid": entry.pw_uid, "gid": entry.pw_gid}


def _run_as(user: dict[str, int] | None) -> dict[str, Any]:
    if user is None:
        return {}
    return {"user": user["uid"], "group": user["gid"], "extra_groups": []}
