"""The PostgreSQL-backed MLflow server of the tests: bound to 127.0.0.1, and its password appears in no log, URI
or command line (only in the 0600 pgpass file libpq reads)."""

from __future__ import annotations

import stat
from pathlib import Path
from urllib.parse import urlparse

import psutil

from registry import MlflowRegistry


def test_the_database_password_is_in_no_log_uri_or_command_line(
    postgres_mlflow_server: dict[str, str], tmp_path: Path
) -> None:
    server = postgres_mlflow_server
    reg = MlflowRegistry(server["tracking_uri"], cache_dir=tmp_path / "cache")
    reg.register("algorithm", f"pg-probe-{tmp_path.name[-8:]}", {"family": "linear"})  # the server logs something

    pgpass = Path(server["pgpass"])
    assert stat.S_IMODE(pgpass.stat().st_mode) == 0o600
    password = pgpass.read_text().strip().rsplit(":", 1)[1]
    assert len(password) >= 32
    assert urlparse(server["tracking_uri"]).hostname == "127.0.0.1"
    for log in (Path(server["home"]) / "server.log", Path(server["postgres_log"])):
        assert password not in log.read_text(errors="replace"), log
    port = int(pgpass.read_text().split(":")[1])
    listeners = [c for c in psutil.net_connections("tcp") if c.status == "LISTEN" and c.laddr.port == port]
    assert listeners and {c.laddr.ip for c in listeners} == {"127.0.0.1"}, listeners
    for proc in psutil.process_iter(["cmdline", "environ"]):  # unreadable entries come back as None
        assert password not in " ".join(proc.info["cmdline"] or []), proc
        assert password not in " ".join((proc.info["environ"] or {}).values()), proc
