"""Load a downloaded MLflow model folder as the native object of its citymind format."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from citymind.errors import InvalidAsset
from registry.base import AssetVersion
from registry.kinds import DIGEST_TAG, Kind

log = logging.getLogger("citymind.registry")


#: what a serving process may load, per kind: data only (an ONNX graph, files it reads), never a pickle or a
#: pyfunc (both run the artifact's code). ``MlflowRegistry(formats=SERVING_FORMATS)`` holds a gateway to it.
SERVING_FORMATS: dict[Kind, frozenset[str]] = {
    Kind.MODEL: frozenset({"onnx"}),
    Kind.ALGORITHM: frozenset({"files"}),
    Kind.RULE: frozenset({"files"}),
    Kind.KNOWLEDGE: frozenset({"files"}),
    Kind.COMPONENT: frozenset({"files"}),
}


def check_format(av: AssetVersion, formats: Mapping[Kind, frozenset[str]] | None) -> None:
    """Refuse a version whose stored format its kind may not load here (a missing format tag is ``unknown``)."""
    allowed = formats.get(Kind.parse(av.kind), frozenset()) if formats is not None else None
    if allowed is None or av.format in allowed:
        return
    raise InvalidAsset(
        f"{av.kind} {av.name!r} version {av.version} is stored as {av.format!r}; a serving process loads {av.kind}s "
        f"stored as {sorted(allowed) or 'nothing'} only (no pickles, no code). Export it (to_onnx) and register that.",
        kind=av.kind,
        name=av.name,
        version=str(av.version),
    )


def load_model_dir(path: Path, av: AssetVersion) -> Any:
    try:
        if av.format == "onnx":
            return onnx_file(path)
        if av.format == "files":
            return files_dir(path)
        loader = {"sklearn": "mlflow.sklearn", "pytorch": "mlflow.pytorch"}.get(av.format, "mlflow.pyfunc")
        module = __import__(loader, fromlist=["load_model"])
        return module.load_model(str(path))
    except InvalidAsset:
        raise
    except Exception as exc:
        raise InvalidAsset(
            f"{av.kind} {av.name!r} version {av.version} ({av.format}) cannot be loaded: "
            f"{type(exc).__name__}: {exc}. Register a fixed version or roll the alias back.",
            kind=av.kind,
            name=av.name,
            version=str(av.version),
        ) from exc


def onnx_file(path: Path) -> Path:
    """The ``.onnx`` file inside a saved ONNX model folder (sessions are created by the caller)."""
    spec = yaml.safe_load((path / "MLmodel").read_text())
    return inside(path, str(spec["flavors"]["onnx"]["data"]))


def files_dir(path: Path) -> Path:
    """The folder holding a file asset's files (rules YAML, knowledge snapshot, component spec)."""
    spec = yaml.safe_load((path / "MLmodel").read_text())
    return inside(path, str(spec["flavors"]["python_function"]["data"]))


def inside(folder: Path, relative: str) -> Path:
    """``folder / relative``, refused unless it stays inside ``folder`` (an ``MLmodel`` naming ``../../etc`` or an
    absolute path, or a link out of the folder)."""
    target = (folder / relative).resolve()
    if not target.is_relative_to(folder.resolve()):
        raise InvalidAsset(f"the artifact's MLmodel names {relative!r}, outside its folder; register it again")
    return target


#: files others add to a stored model without changing it: MLflow writes ``registered_model_meta`` into the
#: folder when a version is loaded by ``models:/`` URI (into the store itself when it is local), Python its caches
_ADDED_BY_READERS = {"registered_model_meta"}


def _counted(path: Path) -> bool:
    return path.is_file() and path.name not in _ADDED_BY_READERS and "__pycache__" not in path.parts


def tree_digest(folder: Path) -> str:
    """``sha256:`` over the relative path and the bytes of every file under ``folder`` (but what readers add)."""
    digest = hashlib.sha256()
    for path in sorted((p for p in folder.rglob("*") if _counted(p)), key=lambda p: p.relative_to(folder).as_posix()):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        with path.open("rb") as stream:
            digest.update(hashlib.file_digest(stream, "sha256").digest())
    return f"sha256:{digest.hexdigest()}"


def check_digest(folder: Path, av: AssetVersion) -> None:
    """Refuse a download whose files differ from what was registered (versions from before digests pass)."""
    expected = av.tags.get(DIGEST_TAG)
    if expected and tree_digest(folder) != expected:
        raise InvalidAsset(
            f"{av.kind} {av.name!r} version {av.version}: the stored artifact at {av.source} is not what was "
            "registered (its sha256 differs: files changed, truncated or missing). Register the asset again or "
            "roll the alias back.",
            kind=av.kind,
            name=av.name,
            version=str(av.version),
        )


def download_version(av: AssetVersion, tracking_uri: str, cache_root: Path) -> Path:
    """Download a version's model folder once into ``cache_root`` (atomic rename; safe across processes)."""
    key = hashlib.sha1(tracking_uri.encode(), usedforsecurity=False).hexdigest()[:12]
    target = cache_root / key / av.name / str(av.version)
    if (target / "MLmodel").exists():
        try:
            check_digest(target, av)  # a cached copy is trusted no more than a fresh download
            return target
        except InvalidAsset:
            log.warning("the cached copy of %s v%s changed on disk; downloading it again", av.name, av.version)
            shutil.rmtree(target, ignore_errors=True)
    import mlflow.artifacts

    staging = target.with_name(f".{av.version}.{uuid.uuid4().hex}")
    staging.mkdir(parents=True)
    try:
        mlflow.artifacts.download_artifacts(artifact_uri=av.source, dst_path=str(staging), tracking_uri=tracking_uri)
        inner = staging / "model"
        folder = inner if inner.is_dir() else staging
        check_digest(folder, av)
        os.replace(folder, target)
    except OSError:
        if not (target / "MLmodel").exists():  # another process renamed its copy first: use that one
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
