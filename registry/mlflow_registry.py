"""``MlflowRegistry``: the five libraries stored in MLflow's Model Registry, visible to any MLflow client."""

from __future__ import annotations

import builtins
import contextlib
import difflib
import secrets
import tempfile
import time
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from citymind.errors import AliasError, AssetNotFound, InvalidAsset, ValidationError
from citymind.settings import Settings, get_settings
from registry import _lineage
from registry._mlflow_support import (
    RACED,
    is_already_exists,
    mlflow_errors,
    not_found,
    retrying,
    retrying_or_none,
    write_lock,
)
from registry._runs import log_into_new_run, log_into_run
from registry._search import asset_filter, quote, search_models, search_names, search_versions
from registry._versions import HISTORY_LEN, alias_history, kind_of, to_asset, to_asset_version
from registry.artifacts import SaveSpec, save_artifact
from registry.base import Asset, AssetVersion, Direction, LineageRef
from registry.kinds import ALIAS_HISTORY_TAG, DIGEST_TAG, FORMAT_TAG, KIND_TAG, LINEAGE_TAG, Kind
from registry.loading import check_format, download_version, load_model_dir, tree_digest
from registry.refs import check_alias, check_name, parse_ref


class MlflowRegistry:
    """The registry of models, algorithms, rules, knowledge and components on an MLflow store.

    >>> reg = MlflowRegistry("sqlite:////tmp/citymind-doc.db", artifact_location="file:///tmp/citymind-art")
    >>> v = reg.register("knowledge", "pingdu-areas", {"towns": ["南村镇"]})   # doctest: +SKIP
    >>> reg.set_alias("pingdu-areas", "production", v.version).aliases      # doctest: +SKIP
    ('production',)
    """

    def __init__(
        self,
        tracking_uri: str,
        *,
        artifact_location: str | None = None,
        lock_path: Path | None = None,
        cache_dir: Path | None = None,
        experiment: str = "citymind-registry",
        formats: Mapping[Kind, frozenset[str]] | None = None,
    ) -> None:
        self.tracking_uri = tracking_uri
        self.artifact_location = artifact_location
        self.lock_path = lock_path
        self.cache_dir = cache_dir
        self.experiment = experiment
        self.formats = formats  # None: any format loads; SERVING_FORMATS in a serving process (no pickle, no code)
        self._experiments: dict[str, str] = {}

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> MlflowRegistry:
        s = settings or get_settings()
        if s.embedded:
            s.resolved_home.mkdir(parents=True, exist_ok=True)
        return cls(
            s.resolved_tracking_uri,
            artifact_location=s.resolved_artifact_location,
            cache_dir=s.resolved_home / "cache",
        )

    @cached_property
    def _lock(self) -> Any:
        return write_lock(self.tracking_uri, self.lock_path)

    @cached_property
    def client(self) -> Any:
        from mlflow import MlflowClient

        with self._lock:  # first use of a new DB runs migrations
            client = MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)
            with mlflow_errors(self.tracking_uri):
                retrying(lambda: client.search_registered_models(max_results=1))
        return client

    # -- writing ---------------------------------------------------------------------------------------
    def register(
        self,
        kind: Kind | str,
        name: str,
        artifact: Any,
        *,
        description: str = "",
        tags: Mapping[str, str] | None = None,
        lineage: Sequence[LineageRef | Mapping[str, Any]] = (),
        signature: Any = None,
        input_example: Any = None,
        run_id: str | None = None,
    ) -> AssetVersion:
        """Validate ``artifact`` and its lineage, store it and create the next version of ``name``.

        ``input_example`` (one batch of inputs, e.g. a numpy array) gives models their MLflow signature;
        a ``torch.nn.Module`` needs it. An explicit ``signature`` wins.
        ``run_id``: the run that made the artifact (a training run). The model is logged into it under ``model/``
        and the version's run is that run, with its metrics and plots; without it a ``register-<kind>-<name>`` run
        of its own holds the files.
        """
        kind = Kind.parse(kind)
        check_name(name)
        refs = _lineage.coerce_refs(kind, name, lineage)
        _lineage.check_exist(self, kind, name, refs)
        version_tags = {str(k): str(v) for k, v in (tags or {}).items()}
        version_tags[KIND_TAG] = kind.value
        if refs:
            version_tags[LINEAGE_TAG] = _lineage.tag_value(refs)
        with tempfile.TemporaryDirectory(prefix="citymind-") as tmp:
            dest = Path(tmp) / "model"
            version_tags[FORMAT_TAG] = save_artifact(
                artifact, dest, SaveSpec(kind.value, name, signature, input_example)
            )
            version_tags[DIGEST_TAG] = tree_digest(dest)  # downloads are checked against it
            with mlflow_errors(self.tracking_uri), self._lock:
                mv = self._create_version(kind, name, dest, version_tags, description, run_id)
        return self.version(name, int(mv.version))

    def _create_version(
        self, kind: Kind, name: str, model_dir: Path, tags: dict[str, str], description: str, run_id: str | None
    ) -> Any:
        existing = retrying_or_none(lambda: self.client.get_registered_model(name))
        if existing is not None and existing.tags.get(KIND_TAG, kind.value) != kind.value:
            raise InvalidAsset(
                f"{name!r} is already registered as a {existing.tags[KIND_TAG]}, not a {kind}. Pick another name.",
                kind=kind,
                name=name,
            )
        if run_id is None:
            run_id, source = log_into_new_run(self.client, self.experiment_id(), model_dir, kind, name)
        else:
            source = log_into_run(self.client, run_id, model_dir, kind, name)
        created = False
        if existing is None:
            try:
                retrying(
                    lambda: self.client.create_registered_model(
                        name, tags={KIND_TAG: kind.value}, description=description or None
                    )
                )
                created = True
            except Exception as exc:
                if not is_already_exists(exc):  # another writer (e.g. through a server) won the race
                    raise
        try:
            return retrying(
                lambda: self.client.create_model_version(
                    name, source, run_id=run_id, tags=tags, description=description or None
                )
            )
        except Exception:
            if created:
                retrying(lambda: self.client.delete_registered_model(name))
            raise

    def experiment_id(self, experiment: str | None = None) -> str:
        """The id of an experiment on this store (created with our artifact location when missing)."""
        name = experiment or self.experiment
        if name not in self._experiments:
            with self._lock:
                self._experiments[name] = self._get_or_create_experiment(name)
        return self._experiments[name]

    def _get_or_create_experiment(self, name: str) -> str:
        found = retrying(lambda: self.client.get_experiment_by_name(name))
        if found is not None:
            return str(found.experiment_id)
        try:
            return str(retrying(lambda: self.client.create_experiment(name, artifact_location=self._artifacts(name))))
        except Exception as exc:
            if not is_already_exists(exc):
                raise
            return str(self.client.get_experiment_by_name(name).experiment_id)

    def _artifacts(self, experiment: str) -> str | None:
        if not self.artifact_location or experiment == self.experiment:
            return self.artifact_location
        return f"{self.artifact_location.rstrip('/')}/{experiment}"

    def set_alias(self, name: str, alias: str, version: int | str) -> AssetVersion:
        """Point ``alias`` at ``version`` (e.g. promote to ``champion``), remembering where it was."""
        check_alias(alias)
        target = self._existing_version(name, version, alias)
        with mlflow_errors(self.tracking_uri), self._lock:
            retrying(lambda: self.client.set_registered_model_alias(name, alias, str(target.version)), also=RACED)
            self._record_move(name, alias, target.version)
        return self.version(name, target.version)

    def delete_alias(self, name: str, alias: str) -> None:
        asset = self.get(name)
        if alias not in asset.aliases:
            raise AliasError(
                f"{asset.kind} {name!r} has no alias {alias!r} to delete; its aliases are "
                f"{sorted(asset.aliases) or 'none'}.",
                kind=asset.kind,
                name=name,
            )
        with mlflow_errors(self.tracking_uri), self._lock:
            retrying(lambda: self.client.delete_registered_model_alias(name, alias))

    def set_tag(self, name: str, key: str, value: str | None) -> Asset:
        """Set (or, with ``value`` None, remove) a tag of the asset itself, e.g. a canary weight."""
        if not key or key.startswith(("citymind.kind", "citymind.alias_history", "citymind.lineage")):
            raise ValidationError(f"tag {key!r} is kept by citymind itself; choose another key")
        self.get(name)
        with mlflow_errors(self.tracking_uri), self._lock:
            if value is None:
                retrying(lambda: self.client.delete_registered_model_tag(name, key))
            else:
                retrying(lambda: self.client.set_registered_model_tag(name, key, str(value)))
        return self.get(name)

    def rollback(self, name: str, alias: str = "champion") -> AssetVersion:
        """Move ``alias`` back to the version it pointed at before its last move."""
        asset = self.get(name)
        current = asset.aliases.get(alias)
        if current is None:
            raise AliasError(
                f"{asset.kind} {name!r} has no alias {alias!r} to roll back; its aliases are "
                f"{sorted(asset.aliases) or 'none'}.",
                kind=asset.kind,
                name=name,
            )
        history = [v for v in self._alias_history(name, alias) if v != current] or [
            v.version for v in self.versions(name) if v.version < current
        ]
        if not history:
            raise AliasError(
                f"{asset.kind} {name!r}@{alias} is at version {current} and has no earlier version to roll "
                "back to. Register a new version and move the alias instead.",
                kind=asset.kind,
                name=name,
                version=str(current),
            )
        previous = history[-1]
        with mlflow_errors(self.tracking_uri), self._lock:
            retrying(lambda: self.client.set_registered_model_alias(name, alias, str(previous)), also=RACED)
            self._record_move(name, alias, -current)  # the move to ``current`` is undone
        return self.version(name, previous)

    def _alias_history(self, name: str, alias: str) -> builtins.list[int]:
        return alias_history(self._registered_model(name).tags, alias)

    def _record_move(self, name: str, alias: str, version: int) -> None:
        """One tag per move (its key unique: time and a random suffix), never a read-modify-write of one tag, so
        writers that move aliases at once on an MLflow server lose no move. The oldest beyond the kept length go."""
        key = f"{ALIAS_HISTORY_TAG}{alias}.{time.time_ns():020d}.{secrets.token_hex(3)}"
        retrying(lambda: self.client.set_registered_model_tag(name, key, str(version)))
        moves = sorted(k for k in self._registered_model(name).tags if k.startswith(f"{ALIAS_HISTORY_TAG}{alias}."))
        for old in moves[: -4 * HISTORY_LEN]:
            with contextlib.suppress(Exception):  # another writer may have pruned it
                self.client.delete_registered_model_tag(name, old)

    # -- reading ---------------------------------------------------------------------------------------
    def get(self, name: str, kind: Kind | str | None = None) -> Asset:
        return to_asset(self._registered_model(name, kind))

    def list(self, kind: Kind | str | None = None) -> builtins.list[Asset]:
        return self.search(kind=kind)

    def search(
        self,
        kind: Kind | str | None = None,
        tags: Mapping[str, str] | None = None,
        name_contains: str | None = None,
    ) -> builtins.list[Asset]:
        """Assets of ``kind`` whose name contains ``name_contains`` and that carry ``tags``: on the asset, or
        all on one of its versions (``register(..., tags=...)`` tags versions)."""
        where = asset_filter(kind, tags, name_contains)
        with mlflow_errors(self.tracking_uri):
            found = {rm.name: to_asset(rm) for rm in search_models(self.client, where)}
            tagged_versions = {mv.name for mv in search_versions(self.client, where)} if tags else set()
        found.update((n, self.get(n)) for n in tagged_versions - found.keys())
        return [found[n] for n in sorted(found)]

    def versions(self, name: str) -> builtins.list[AssetVersion]:
        rm = self._registered_model(name)
        found = search_versions(self.client, f"name = '{quote(name)}'")
        return sorted((to_asset_version(mv, rm) for mv in found), key=lambda v: v.version)

    def versions_page(self, name: str, limit: int, before: int | None = None) -> builtins.list[AssetVersion]:
        """A page of versions by their number (MLflow filters and orders on it): as quick at 10,000 versions as at
        ten, where :meth:`versions` reads them all."""
        rm = self._registered_model(name)
        where = f"name = '{quote(name)}'" + (f" AND version_number < {int(before)}" if before is not None else "")
        found = search_versions(self.client, where, order_by=["version_number DESC"], limit=limit)
        return [to_asset_version(mv, rm) for mv in found[:limit]]

    def version(self, name: str, version: int | str) -> AssetVersion:
        return self._existing_version(name, version)

    def resolve(self, ref: str) -> AssetVersion:
        """``models:/name@alias`` | ``models:/name/3`` | ``name@alias`` | ``name`` (latest) → version."""
        parsed = parse_ref(ref)
        if parsed.version is not None:
            return self._existing_version(parsed.name, parsed.version)
        if parsed.alias is not None:
            found = self._version_by_alias(parsed.name, parsed.alias)
            if found is not None:
                return found
        asset = self.get(parsed.name)  # no such alias or asset (the error below says which) or a foreign version
        if parsed.alias is None:
            if asset.latest_version is None:
                raise AssetNotFound(
                    f"{asset.kind} {parsed.name!r} has no versions yet.", kind=asset.kind, name=parsed.name
                )
            return self.version(parsed.name, asset.latest_version)
        if parsed.alias not in asset.aliases:
            close = difflib.get_close_matches(parsed.alias, list(asset.aliases), n=1, cutoff=0.6)
            how = (
                f"Did you mean {parsed.name}@{close[0]}?"
                if close
                else f"Set one with `citymind registry alias {parsed.name} {parsed.alias} VERSION`."
            )
            raise AssetNotFound(
                f"{asset.kind} {parsed.name!r} has no alias {parsed.alias!r}; its aliases are "
                f"{dict(asset.aliases) or 'none'}. {how}",
                kind=asset.kind,
                name=parsed.name,
            )
        return self.version(parsed.name, asset.aliases[parsed.alias])

    def download(self, ref: str) -> Path:
        """The local folder of a version's MLflow model (cached: versions never change)."""
        return self._download(self.resolve(ref))

    def load(self, ref: str) -> Any:
        """The native object: estimator, torch module or pyfunc; for ``onnx`` the ``.onnx`` file, for ``files``
        the folder of files."""
        av = self.resolve(ref)
        check_format(av, self.formats)
        return load_model_dir(self._download(av), av)

    def _download(self, av: AssetVersion) -> Path:
        root = self.cache_dir or Path(tempfile.gettempdir()) / "citymind-cache"
        with mlflow_errors(self.tracking_uri):
            return download_version(av, self.tracking_uri, root)

    def lineage(self, name: str, version: int | str, direction: Direction = "up") -> builtins.list[LineageRef]:
        """What ``name``/``version`` came from (``up``) or which registered versions use it (``down``)."""
        _lineage.check_direction(direction)
        av = self._existing_version(name, version)
        if direction == "up":
            return list(av.lineage)
        return _lineage.users_of(av, search_versions(self.client, _lineage.users_filter(name)))

    # -- helpers ---------------------------------------------------------------------------------------
    def _registered_model(self, name: str, kind: Kind | str | None = None) -> Any:
        check_name(name)
        with mlflow_errors(self.tracking_uri):
            rm = retrying_or_none(lambda: self.client.get_registered_model(name))
        wanted = Kind.parse(kind) if kind is not None else None
        if rm is None or (wanted is not None and rm.tags.get(KIND_TAG) != wanted.value):
            what = f"The {wanted}" if wanted else "Asset"
            raise not_found(what, name, search_names(self.client, ""), kind=str(wanted) if wanted else None)
        return rm

    def _existing_version(self, name: str, version: int | str, alias: str | None = None) -> AssetVersion:
        rm = self._registered_model(name)
        kind = kind_of(rm.tags)
        if not (str(version).isascii() and str(version).isdigit()):
            raise InvalidAsset(
                f"Version must be a positive integer. Got {version!r} for {kind} {name!r}.", kind=kind, name=name
            )
        mv = retrying_or_none(lambda: self.client.get_model_version(name, str(int(version))))
        if mv is None:
            known = [v.version for v in search_versions(self.client, f"name = '{quote(name)}'")]
            error = AliasError if alias else AssetNotFound
            action = f"cannot point alias {alias!r} at it" if alias else "it cannot be used"
            raise error(
                f"Version {version} of {kind} {name!r} does not exist ({action}); its versions are "
                f"{sorted(int(v) for v in known) or 'none'}.",
                kind=kind,
                name=name,
                version=str(version),
            )
        return to_asset_version(mv, rm)

    def _version_by_alias(self, name: str, alias: str) -> AssetVersion | None:
        """The version ``alias`` points at, in one query (alias followers poll this every few seconds; it took
        four), or None when there is none or the version lacks citymind's kind tag."""
        check_name(name)
        with mlflow_errors(self.tracking_uri):
            mv = retrying_or_none(lambda: self.client.get_model_version_by_alias(name, alias))
        return None if mv is None or KIND_TAG not in (mv.tags or {}) else to_asset_version(mv, None)
