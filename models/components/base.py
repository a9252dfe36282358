"""The contract of a component (组件库): a named, versioned step with declared input and output record schemas.

The component library has one home, ``models/components/``: this contract, the pipeline (``pipeline.py``), the
shelf a gateway serves them from (``shelf.py``) and the five installed components (text cleaning, privacy masking,
image decoding, series resampling, area resolution over the knowledge graph). Like a LitServe API: heavy state
loads in ``load`` (run once by the public, idempotent ``setup``), never in ``__init__``; only ``process`` must be
written. Like a scikit-learn estimator: the constructor is the parameter list, so a component is saved as its
name and parameters (no pickling) and found again through the ``citymind.components`` entry points.

>>> from models.components.base import Component
>>> class Shout(Component):
...     name = "demo.shout"
...     input_schema = {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}}
...     output_schema = {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}}
...     def process(self, record):
...         return {"text": record["text"].upper()}
>>> Shout()({"text": "ok", "id": 7})
{'text': 'OK', 'id': 7}
"""

from __future__ import annotations

import difflib
import functools
import inspect
import json
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

from citymind.errors import AssetNotFound, InvalidAsset, Unprocessable

ENTRY_POINTS = "citymind.components"
SPEC_FORMAT = "citymind.component/1"


@dataclass(frozen=True)
class ComponentTags:
    """Capabilities as data: ``lightweight`` components run in the gateway's ingress (the fast path)."""

    stateless: bool = True
    batchable: bool = True
    lightweight: bool = True
    input_kind: str = "text"


class Component(ABC):
    """One step over one record (a dict); ``__call__`` returns the record with the step's fields added or
    replaced, and never changes the record it was given."""

    name: ClassVar[str]
    input_schema: ClassVar[dict[str, Any]]
    output_schema: ClassVar[dict[str, Any]]
    tags: ClassVar[ComponentTags] = ComponentTags()
    #: records the contract suite and ``citymind components show`` run the component on
    examples: ClassVar[list[dict[str, Any]]] = []

    _ready: bool = False

    def setup(self, registry: Any = None) -> Self:
        """Make the component ready to run: :meth:`load` once (later calls do nothing); returns the component.
        ``__call__`` and ``batch`` set up a component that was not."""
        if not self._ready:
            self.load(registry)
            self._ready = True
        return self

    def load(self, registry: Any = None) -> None:  # noqa: B027 - a hook: most components need nothing
        """Load what the component needs (tables, models, a knowledge snapshot); ``registry`` when it needs one.
        Called once, by :meth:`setup`."""

    @abstractmethod
    def process(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """The fields this step adds or replaces, from one valid input record."""

    def process_batch(self, records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Override when a batch is cheaper than a loop (vectorised models)."""
        return [self.process(r) for r in records]

    def __call__(self, record: Mapping[str, Any]) -> dict[str, Any]:
        return self.batch([record])[0]

    def batch(self, records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        self.setup()
        for i, record in enumerate(records):
            check_record(self.name, self.input_schema, record, f"record {i}" if len(records) > 1 else "record")
        return [{**r, **out} for r, out in zip(records, self.process_batch(records), strict=True)]

    def get_params(self) -> dict[str, Any]:
        keys = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {k: getattr(self, k) for k in keys if k not in ("args", "kwargs")}

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "params": self.get_params(),
            "tags": asdict(self.tags),
            "input_schema": self.input_schema,
            "output_schema": self.output_schema,
            "doc": inspect.getdoc(type(self)) or "",
        }

    def to_spec(self) -> dict[str, Any]:
        """What the registry stores: the component's name and parameters, nothing executable."""
        return {"format": SPEC_FORMAT, "component": self.name, "params": self.get_params()}


def check_record(name: str, schema: Mapping[str, Any], record: Any, what: str = "record") -> None:
    """Raise ValidationError naming the component, the field and the problem (fast: jsonschema-rs)."""
    if not isinstance(record, Mapping):
        raise Unprocessable(f"{name}: a {what} must be an object of fields, got {type(record).__name__}")
    errors = [e for e in _validator(schema).iter_errors(_json_view(record))]
    if errors:
        first = errors[0]
        where = "/".join(map(str, first.instance_path)) or "(the record)"
        raise Unprocessable(f"{name}: {what} field {where}: {first.message}")


def described(value: Any) -> Any:
    """A record as JSON can carry it: arrays (decoded images) as their shape and dtype, bytes as their length."""
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return {"shape": list(value.shape), "dtype": str(value.dtype)}
    if isinstance(value, bytes | bytearray):
        return {"bytes": len(value)}
    if isinstance(value, dict):
        return {k: described(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [described(v) for v in value]
    return value


def _json_view(record: Mapping[str, Any]) -> dict[str, Any]:
    """Binary values (image bytes) and arrays are checked by the component itself; the schema sees strings."""
    return {
        k: ("<binary>" if isinstance(v, bytes | bytearray) or hasattr(v, "__array__") else v) for k, v in record.items()
    }


_VALIDATORS: dict[int, tuple[Mapping[str, Any], Any]] = {}


def _validator(schema: Mapping[str, Any]) -> Any:
    import jsonschema_rs

    cached = _VALIDATORS.get(id(schema))
    if cached is None or cached[0] is not schema:
        cached = (schema, jsonschema_rs.validator_for(dict(schema)))
        _VALIDATORS[id(schema)] = cached
    return cached[1]


def available_components() -> dict[str, type[Component]]:
    """Every installed component class by name (entry points ``citymind.components``)."""
    return dict(_installed())


@functools.cache
def _installed() -> dict[str, type[Component]]:
    """Entry points are read once per process (a metadata scan of every installed package): they only change
    with an install, which restarts the process anyway."""
    from importlib.metadata import entry_points

    return {ep.name: ep.load() for ep in entry_points(group=ENTRY_POINTS)}


def component_from_spec(spec: Mapping[str, Any]) -> Component:
    """A component back from what :meth:`Component.to_spec` stored; unknown names and parameters are refused."""
    if spec.get("format") != SPEC_FORMAT or not isinstance(spec.get("component"), str):
        raise InvalidAsset(f"not a component spec (format {SPEC_FORMAT!r} with a 'component' name): {dict(spec)!r}")
    known = available_components()
    cls = known.get(spec["component"])
    if cls is None:
        close = difflib.get_close_matches(spec["component"], known, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise InvalidAsset(f"component {spec['component']!r} is not installed.{hint} Installed: {sorted(known)}")
    params = dict(spec.get("params") or {})
    allowed = set(inspect.signature(cls.__init__).parameters) - {"self"}
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise InvalidAsset(f"component {cls.name!r} has no parameters {unknown}; it takes {sorted(allowed)}")
    return cls(**params)


def register_component(registry: Any, component: Component, *, alias: str | None = "production") -> Any:
    """Register a component's spec (kind ``component``) unless its latest version already has the same spec;
    return that version."""
    spec = component.to_spec()
    try:
        latest = registry.resolve(component.name)
        if stored_spec(registry, f"{component.name}/{latest.version}") == spec:
            return latest
    except AssetNotFound:
        pass
    tags = {"component.type": "component", "lightweight": str(component.tags.lightweight).lower()}
    doc = (inspect.getdoc(type(component)) or "").split("\n\n")[0].replace("\n", " ")  # the first paragraph
    version = registry.register("component", component.name, spec, description=doc, tags=tags)
    return registry.set_alias(component.name, alias, version.version) if alias else version


def stored_spec(registry: Any, ref: str) -> Any:
    """The JSON a component version stores (``asset.json``), or the text of a YAML file it stores."""
    folder = Path(registry.load(ref))
    files = [folder] if folder.is_file() else sorted(p for p in folder.rglob("*") if p.is_file())
    for path in files:
        if path.name == "asset.json":
            return json.loads(path.read_text(encoding="utf-8"))
    yamls = [p for p in files if p.suffix in (".yaml", ".yml")]
    if len(yamls) != 1:
        raise InvalidAsset(
            f"{ref}: expected a component spec (asset.json) or one YAML pipeline, found {[p.name for p in files]}"
        )
    return yamls[0].read_text(encoding="utf-8")
