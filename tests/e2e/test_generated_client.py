"""A client generated from the gateway's own OpenAPI by a standard generator (openapi-python-client), calling every
operation of the real gateway: each request body is the operation's published example, read through the generated
models, and every answer parses into the generated answer model (not its ErrorAnswer)."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

#: path parameters by name, and where an operation's example needs another
PATH_VALUES = {"name": "event-classifier", "version": "1", "kind": "rule"}
BY_OPERATION = {"run_component": {"name": "privacy.mask"}, "run_pipeline": {"name": "report-intake"},
                "registry_asset": {"name": "pingdu-rules"}, "registry_versions": {"name": "pingdu-rules"},
                "rule_source": {"name": "pingdu-rules"}, "publish_rules": {"name": "pingdu-rules"},
                "roll_back_alias": {"name": "pingdu-rules", "alias": "staging"},
                "move_alias": {"kind": "model", "alias": "champion"}, "knowledge_dispatch": {"category": "噪音扰民"},
                "knowledge_lookup": {"q": "南村镇"}, "knowledge_neighbourhood": {"node": "南村镇"},
                "knowledge_search": {"q": "路灯坏了"}}  # fmt: skip
#: bodies the spec gives no example of (a form)
FORMS = {"open311_create": {"description": "凤台街道小区门口垃圾堆积没人清理"}}


def generate(gateway: str, into: Path) -> Any:
    spec = into / "openapi.json"
    spec.write_text(json.dumps(httpx.get(f"{gateway}/openapi.json").json()), encoding="utf-8")
    generator = Path(sys.executable).parent / "openapi-python-client"
    run = subprocess.run(
        [str(generator), "generate", "--path", str(spec), "--meta", "none", "--output-path", str(into / "city_gen")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    sys.path.insert(0, str(into))
    return importlib.import_module("city_gen")


def test_a_generated_client_calls_every_operation(gateway: str, tmp_path: Path, knowledge_cases: int) -> None:
    package = generate(gateway, tmp_path)
    spec = json.loads((tmp_path / "openapi.json").read_text(encoding="utf-8"))
    operations = {op["operationId"]: op for methods in spec["paths"].values() for op in methods.values()}
    client = package.AuthenticatedClient(
        base_url=gateway, token="no-key-needed", timeout=httpx.Timeout(60)
    )  # keys off here
    api = importlib.import_module("city_gen.api")
    called = {}
    order = sorted(
        pkgutil.walk_packages(api.__path__, "city_gen.api."), key=lambda m: ("outcome" in m.name, "roll_back" in m.name)
    )
    for info in order:  # outcomes last (they need an event the triage made); a roll back after the publish
        module = importlib.import_module(info.name)
        if not hasattr(module, "sync_detailed"):
            continue
        name = info.name.rsplit(".", 1)[1]
        kwargs = arguments(module, name, operations[name], spec, client)
        response = module.sync_detailed(**kwargs)
        assert response.status_code == 200, (name, response.status_code, response.content[:500])
        assert type(response.parsed).__name__ != "ErrorAnswer", name
        called[name] = type(response.parsed).__name__
    assert set(called) == set(operations), set(operations) - set(called)


def arguments(module: Any, name: str, operation: dict[str, Any], spec: dict[str, Any], client: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"client": client}
    for param in inspect.signature(module.sync_detailed).parameters.values():
        if param.name == "client" or (param.default is not inspect.Parameter.empty and param.name != "body"):
            continue
        if param.name == "body":
            kwargs["body"] = body(module, name, operation, spec, param)
        elif param.name == "event_id" or param.name == "request_id":
            kwargs[param.name] = latest_event(client)
        else:
            kwargs[param.name] = BY_OPERATION.get(name, {}).get(param.name) or PATH_VALUES[param.name]
    return kwargs


def body(module: Any, name: str, operation: dict[str, Any], spec: dict[str, Any], param: inspect.Parameter) -> Any:
    content = operation["requestBody"]["content"]
    media = content.get("application/json") or next(iter(content.values()))
    schema = media["schema"]
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    example = FORMS.get(name) or schema["examples"][0]
    annotation = str(param.annotation)
    models = [getattr(module, n) for n in dir(module) if n in annotation and hasattr(getattr(module, n), "from_dict")]
    return models[0].from_dict(example) if models else example


def latest_event(client: Any) -> str:
    events = client.get_httpx_client().get("/v1/events", params={"limit": 1}).json()["events"]
    return str(events[0]["id"])
