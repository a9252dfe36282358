"""API keys and roles. A key is shown once, when it is created; the keys file keeps only a salted SHA-256 of its
secret (keys are 256-bit random, so a fast hash is enough), compared in constant time. The file is re-read when it
changes, so a revoked key stops working within a second on every gateway replica that reads it.

| role           | may                                                                              |
|----------------|----------------------------------------------------------------------------------|
| consumer       | call inference and task endpoints, read the registry                             |
| data_scientist | also register models, algorithms and components, move model aliases, canaries     |
| rule_author    | also register rule sets, move rule aliases, run backtests                         |
| dispatcher     | also report outcomes of recorded events (the dispatch system's key: 签收, 退单, 改派, 办结) |
| admin          | everything, keys included                                                        |
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from citymind.errors import CitymindError, QuotaExceeded, ValidationError
from citymind.files import write_private
from citymind.settings import Settings, get_settings

log = logging.getLogger("citymind.access")

ROLES = ("consumer", "data_scientist", "rule_author", "dispatcher", "admin")
#: what a role may do beyond consuming; admin may do all
GRANTS = {
    "consumer": {"read", "infer"},
    "data_scientist": {"read", "infer", "register:model", "register:algorithm", "register:component", "operate"},
    "rule_author": {"read", "infer", "register:rule", "backtest"},
    "dispatcher": {"read", "infer", "report:outcome"},
    "admin": {"*"},
}
PREFIX = "cm"


@dataclass(frozen=True)
class Quota:
    """What one key may ask of one gateway replica: ``rate`` requests a second sustained, ``burst`` above it at
    once, ``concurrent`` in flight. Past it: 429 with ``Retry-After``."""

    rate: float
    burst: int
    concurrent: int


#: per role; ``CITYMIND_QUOTAS`` (JSON, e.g. ``{"consumer": {"rate": 50, "burst": 100, "concurrent": 8}}``) overrides
QUOTAS = {
    "consumer": Quota(rate=500, burst=1000, concurrent=32),
    "data_scientist": Quota(rate=100, burst=200, concurrent=8),
    "rule_author": Quota(rate=50, burst=100, concurrent=8),
    "dispatcher": Quota(rate=500, burst=1000, concurrent=32),
    "admin": Quota(rate=100, burst=200, concurrent=16),
}


def quotas(overrides: str = "") -> dict[str, Quota]:
    """The quotas per role: the defaults with ``overrides`` (JSON) on top; a bad override is a clear error."""
    if not overrides.strip():
        return dict(QUOTAS)
    try:
        given = json.loads(overrides)
        return {
            **QUOTAS,
            **{role: Quota(**{**asdict(QUOTAS.get(role, QUOTAS["consumer"])), **q}) for role, q in given.items()},
        }
    except (ValueError, TypeError, AttributeError) as exc:
        raise ValidationError(
            f'CITYMIND_QUOTAS must be JSON like {{"consumer": {{"rate": 50, "burst": 100, "concurrent": 8}}}}; '
            f"got {overrides[:80]!r} ({exc})"
        ) from None


class QuotaBook:
    """Per key: a token bucket (``rate``, ``burst``) and the requests it has in flight. ``acquire`` or
    :class:`QuotaExceeded`; ``release`` when the request ends."""

    def __init__(self, table: dict[str, Quota] | None = None) -> None:
        self.table = table or dict(QUOTAS)
        self._tokens: dict[str, tuple[float, float]] = {}  # key id → (tokens, when)
        self._flight: dict[str, int] = {}
        self._lock = threading.Lock()

    def acquire(self, key_id: str, role: str) -> None:
        quota = self.table.get(role) or self.table["consumer"]
        now = time.monotonic()
        with self._lock:
            tokens, then = self._tokens.get(key_id, (float(quota.burst), now))
            tokens = min(float(quota.burst), tokens + (now - then) * quota.rate)
            if self._flight.get(key_id, 0) >= quota.concurrent:
                raise QuotaExceeded(
                    f"key {key_id} ({role}) has {quota.concurrent} requests in flight, its role's limit; wait for "
                    "one to finish",
                    retry_after=1.0,
                )
            if tokens < 1.0:
                self._tokens[key_id] = (tokens, now)
                raise QuotaExceeded(
                    f"key {key_id} ({role}) passed its role's rate of {quota.rate:g} requests a second (burst "
                    f"{quota.burst}); slow down",
                    retry_after=(1.0 - tokens) / quota.rate,
                )
            self._tokens[key_id] = (tokens - 1.0, now)
            self._flight[key_id] = self._flight.get(key_id, 0) + 1

    def release(self, key_id: str) -> None:
        with self._lock:
            self._flight[key_id] = max(0, self._flight.get(key_id, 0) - 1)


class AccessDenied(CitymindError, PermissionError):
    """``status`` is 401 (no or unknown key) or 403 (a key whose role may not do this)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    role: str
    salt: str
    digest: str
    created: str
    revoked: bool = False

    def public(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k not in ("salt", "digest")}


def allowed(role: str, action: str) -> bool:
    grants = GRANTS.get(role, set())
    return "*" in grants or action in grants


def refused(key: ApiKey, action: str) -> AccessDenied:
    """The 403 for a key whose role may not ``action``, naming the roles that may and how such a key is made."""
    roles = ", ".join(r for r in ROLES if allowed(r, action))
    return AccessDenied(
        f"key {key.id} ({key.role}) may not {action}; the roles that may: {roles} (an admin makes a key of one: "
        "citymind keys create --name NAME --role ROLE)",
        403,
    )


class KeysFileError(CitymindError, ValueError):
    """The keys file exists but cannot be read: the gateway refuses to start rather than guess who may call."""


class KeyStore:
    """The keys file (JSON, mode 0600). ``verify(secret)`` → the key, or :class:`AccessDenied`.

    Keys never disappear by accident: a file that cannot be read, or is empty, raises :class:`KeysFileError` if
    no keys were read before, and keeps the keys read before (with an error in the log) if some were; a file that
    is removed keeps them too. Once a store has held a key, it stays ``active`` until the process restarts."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._mtime: float | None = None
        self._keys: dict[str, ApiKey] = {}

    def keys(self) -> dict[str, ApiKey]:
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            return self._keys  # removed: the keys read before still hold
        if mtime != self._mtime:
            with self._lock:
                self._read(mtime)
        return self._keys

    def _read(self, mtime: float) -> None:
        try:
            text = self.path.read_text(encoding="utf-8")
            if not text.strip():
                raise ValueError("the file is empty")
            keys = {k["id"]: ApiKey(**k) for k in json.loads(text)}
        except (OSError, ValueError, TypeError, KeyError) as exc:
            if not self._keys:
                raise KeysFileError(
                    f"the API keys file {self.path} cannot be read ({type(exc).__name__}: {exc}). Restore it from a "
                    "backup, or move it away and create keys again with `citymind keys create`."
                ) from None
            log.error(
                "the API keys file %s cannot be read (%s); the %d keys read before stay",
                self.path,
                exc,
                len(self._keys),
            )
            self._mtime = mtime
            return
        self._keys, self._mtime = keys, mtime

    def check(self) -> None:
        """Read the file now: :class:`KeysFileError` for one that cannot be read (a gateway calls this at start)."""
        self.keys()

    def active(self) -> bool:
        """Keys are asked for once the file holds any key, revoked ones included: revoking every key, or emptying
        the file, never opens the gateway."""
        return bool(self.keys())

    def create(self, name: str, role: str) -> tuple[ApiKey, str]:
        if role not in ROLES:
            raise ValidationError(f"role must be one of {list(ROLES)}. Got {role!r} instead.")
        key_id, secret = secrets.token_hex(4), secrets.token_urlsafe(32)
        salt = secrets.token_hex(16)
        created = datetime.now(UTC).isoformat(timespec="seconds")
        record = ApiKey(key_id, name, role, salt, _digest(salt, secret), created)
        self._write({**self.keys(), key_id: record})
        return record, f"{PREFIX}_{key_id}_{secret}"

    def revoke(self, key_id: str) -> ApiKey:
        keys = self.keys()
        if key_id not in keys:
            raise ValidationError(f"no key {key_id!r}; `citymind keys list` shows the ids")
        record = ApiKey(**{**asdict(keys[key_id]), "revoked": True})
        self._write({**keys, key_id: record})
        return record

    def verify(self, presented: str | None) -> ApiKey:
        if not presented:
            raise AccessDenied("an API key is required: send 'Authorization: Bearer <key>' or 'X-API-Key'", 401)
        parts = presented.strip().split("_", 2)
        record = self.keys().get(parts[1]) if len(parts) == 3 and parts[0] == PREFIX else None
        expected = record.digest if record else _digest("0" * 32, "no such key")
        ok = hmac.compare_digest(_digest(record.salt if record else "0" * 32, parts[-1]), expected)
        if record is None or not ok or record.revoked:
            raise AccessDenied("the API key is not valid (unknown, wrong or revoked)", 401)
        return record

    def _write(self, keys: dict[str, ApiKey]) -> None:
        write_private(self.path, json.dumps([asdict(k) for k in keys.values()], indent=1))
        self._mtime = None


def _digest(salt: str, secret: str) -> str:
    return hashlib.sha256(f"{salt}:{secret}".encode()).hexdigest()


def key_store(settings: Settings | None = None) -> KeyStore:
    s = settings or get_settings()
    return KeyStore(Path(s.keys_file) if s.keys_file else s.resolved_home / "keys.json")


def require(action: str, settings: Settings | None = None) -> ApiKey | None:
    """For CLI commands that change the registry: once keys exist, ``CITYMIND_API_KEY`` must hold a key whose
    role may ``action``. Without keys (a fresh, local install) nothing is asked."""
    store = key_store(settings)
    if not store.active():
        return None
    key = store.verify(os.environ.get("CITYMIND_API_KEY"))
    if not allowed(key.role, action):
        raise refused(key, action)
    return key
