"""The models a gateway replica serves: ONNX Runtime sessions loaded from the registry by alias, swapped
atomically when the alias moves (a watcher thread polls; ``refresh()`` forces it)."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from registry import AssetNotFound, AssetVersion, InvalidAsset, MlflowRegistry, ValidationError
from serving.limits import MAX_TEXT_CHARS
from serving.oip import ORT_TYPES, RequestInput, decode_input

log = logging.getLogger("citymind.serving")


@dataclass(frozen=True)
class ServedModel:
    """One loaded version: its session, declared tensors and, for text classifiers, the class names."""

    name: str
    version: int
    session: Any
    tags: dict[str, str] = field(default_factory=dict)
    classes: tuple[str, ...] = ()
    text_classifier: Any = None

    @property
    def inputs(self) -> list[dict[str, Any]]:
        return [_tensor(t) for t in self.session.get_inputs()]

    @property
    def outputs(self) -> list[dict[str, Any]]:
        return [_tensor(t) for t in self.session.get_outputs()]

    def metadata(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "versions": [str(self.version)],
            "platform": "onnxruntime_onnx",
            "inputs": self.inputs,
            "outputs": self.outputs,
        }

    def infer(self, inputs: list[RequestInput], wanted: list[str] | None = None) -> dict[str, np.ndarray]:
        declared = {t.name: ORT_TYPES.get(t.type) for t in self.session.get_inputs()}
        unknown = [t.name for t in inputs if t.name not in declared]
        missing = [n for n in declared if n not in {t.name for t in inputs}]
        if unknown or missing:
            raise ValidationError(
                f"model {self.name} v{self.version} takes inputs {sorted(declared)}; unknown "
                f"{unknown}, missing {missing}.",
                location="inputs",
            )
        feed = {t.name: decode_input(t, declared[t.name]) for t in inputs}
        if self.text_classifier is not None:
            feed = {k: self.text_classifier.clean(check_text_lengths(k, v)) for k, v in feed.items()}
        names = [o.name for o in self.session.get_outputs()]
        bad = [n for n in wanted or [] if n not in names]
        if bad:
            raise ValidationError(f"model {self.name} has outputs {names}; {bad} requested.", location="outputs")
        try:
            values = self.session.run(wanted or names, feed)
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidArgument types
            raise ValidationError(f"model {self.name} v{self.version} rejected the input: {exc}") from exc
        return dict(zip(wanted or names, values, strict=True))


def check_text_lengths(name: str, texts: np.ndarray) -> np.ndarray:
    """The same per-text limit as ``/v1/events/classify``: a text classifier reads at most its first 2,000
    cleaned characters, and longer inputs only cost time."""
    too_long = [i for i, t in enumerate(texts.reshape(-1).tolist()) if len(t) > MAX_TEXT_CHARS]
    if too_long:
        raise ValidationError(
            f"elements {too_long[:5]} exceed {MAX_TEXT_CHARS} characters; send at most {MAX_TEXT_CHARS} "
            "characters per text (the model reads the first 2000 after cleaning).",
            location=f"inputs[{name}]",
        )
    return texts


def load_served_model(registry: MlflowRegistry, version: AssetVersion) -> ServedModel:
    from models.onnx_session import OnnxTextClassifier, make_session

    if version.format != "onnx":
        raise InvalidAsset(
            f"{version.name} v{version.version} is a {version.format} asset; the gateway serves "
            "ONNX models over OIP. Export it with to_onnx() and register the .onnx.",
            name=version.name,
            version=str(version.version),
        )
    path = registry.load(version.uri)
    try:
        session = make_session(Path(path))
    except Exception as exc:
        raise InvalidAsset(
            f"{version.name} v{version.version}: onnxruntime cannot load it ({exc}).",
            name=version.name,
            version=str(version.version),
        ) from exc
    text = OnnxTextClassifier(session) if OnnxTextClassifier.accepts(session) else None
    return ServedModel(
        version.name, version.version, session, dict(version.tags), tuple(text.classes) if text else (), text
    )


class ModelHub:
    """Served models by alias (what callers get by default) and by explicit version (bounded cache)."""

    def __init__(
        self,
        registry: MlflowRegistry,
        *,
        alias: str = "champion",
        refresh_interval: float = 2.0,
        max_versions: int = 16,
    ) -> None:
        self.registry = registry
        self.alias = alias
        self.refresh_interval = refresh_interval
        self.max_versions = max_versions
        self._current: dict[str, ServedModel] = {}
        self._versions: OrderedDict[tuple[str, int], ServedModel] = OrderedDict()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.errors: dict[str, str] = {}

    def get(self, name: str, version: int | None = None) -> ServedModel:
        if version is not None:
            return self._get_version(name, version)
        current = self._current.get(name)
        if current is None:
            check_model_name(name)
            with self._lock:
                current = self._current.get(name) or self._load_alias(name)
        return current

    def served(self) -> dict[str, ServedModel]:
        return dict(self._current)

    def refresh(self) -> dict[str, dict[str, Any]]:
        """Re-resolve the alias of every served model; swap in moved versions. A version that fails to load
        is refused and the previous one keeps serving (the error is reported)."""
        changes: dict[str, dict[str, Any]] = {}
        for name, old in list(self._current.items()):
            try:
                target = self.registry.resolve(f"{name}@{self.alias}")
                if target.version == old.version:
                    self.errors.pop(name, None)  # e.g. the alias was moved back to what is served
                    continue
                new = load_served_model(self.registry, target)
            except Exception as exc:
                self.errors[name] = f"{type(exc).__name__}: {exc}"
                changes[name] = {"from": old.version, "to": None, "error": self.errors[name]}
                log.warning("keeping %s v%s: %s", name, old.version, self.errors[name])
                continue
            self._current = {**self._current, name: new}  # atomic swap: in-flight calls keep the old object
            self.errors.pop(name, None)
            changes[name] = {"from": old.version, "to": new.version}
            log.info("%s@%s moved v%s → v%s", name, self.alias, old.version, new.version)
        return changes

    def watch(self) -> threading.Thread:
        def loop() -> None:
            while not self._stop.wait(self.refresh_interval):
                try:
                    self.refresh()
                except Exception:  # the watcher must outlive a registry hiccup
                    log.exception("alias refresh failed")

        thread = threading.Thread(target=loop, name="citymind-alias-watcher", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()

    def _load_alias(self, name: str) -> ServedModel:
        try:
            target = self.registry.resolve(f"{name}@{self.alias}")
        except AssetNotFound as exc:
            raise AssetNotFound(
                f"No model {name!r} with alias {self.alias!r} is registered. Register one and set "
                f"the alias: `citymind registry alias {name} {self.alias} VERSION`.",
                name=name,
            ) from exc
        model = load_served_model(self.registry, target)
        self._current = {**self._current, name: model}
        return model

    def _get_version(self, name: str, version: int) -> ServedModel:
        current = self._current.get(name)
        if current is not None and current.version == version:
            return current
        check_model_name(name)
        key = (name, version)
        with self._lock:
            if key not in self._versions:
                self._versions[key] = load_served_model(self.registry, self.registry.version(name, version))
                while len(self._versions) > self.max_versions:
                    self._versions.popitem(last=False)
            self._versions.move_to_end(key)
            return self._versions[key]


def check_model_name(name: str) -> None:
    """A malformed name is the caller's mistake (400), not an asset the registry cannot serve (409)."""
    from registry.refs import check_name

    try:
        check_name(name)
    except InvalidAsset as exc:
        raise ValidationError(str(exc), location="model") from None


def _tensor(t: Any) -> dict[str, Any]:
    shape = [d if isinstance(d, int) else -1 for d in t.shape]
    return {"name": t.name, "datatype": ORT_TYPES.get(t.type, t.type), "shape": shape}
