"""The gateway's OpenAPI document: every answer has a schema (the routes' ``response_model``), every route lists
the errors it may answer (``{"error": ...}``: a malformed request is a 400, not FastAPI's 422), the API-key schemes
are declared (so ``/docs``' Authorize works), and the OIP infer routes, which read raw bodies for the binary
extension, publish their JSON request schema."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from citymind.api import ErrorAnswer
from serving.auth import is_open
from serving.oip import InferenceRequest

#: what each error status means at this gateway
MEANING = {
    400: "the request is malformed or a value is out of range; the message names the field",
    401: "no API key, or one that is not valid",
    403: "this key's role may not do this",
    404: "no such model, version, asset, event or camera",
    409: "not allowed in the resource's present state (the message names what is)",
    413: "the request body is larger than the gateway takes",
    422: "well formed, but it does not fit what is served: a tensor the model does not take, a term the knowledge"
    " does not hold, a period that ends before it starts, a day that does not exist",
    429: "this key's request quota is used up; retry after the Retry-After seconds",
    503: "a part this route needs cannot serve right now (registry, event store, a model's time budget)",
}
SECURITY = {
    "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    "Bearer": {"type": "http", "scheme": "bearer", "description": "the same API key as a bearer token"},
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a route for the errors it answers beyond those every route may."""
    return {code: {"model": ErrorAnswer, "description": MEANING[code]} for code in codes}


def publish(app: FastAPI, schemas: dict[str, Any] | None = None) -> None:
    """Replace ``app.openapi`` with the finished document (built once); ``schemas`` are named schemas that routes
    reading their own bodies refer to."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            app.openapi_schema = finish(schema)
            app.openapi_schema["components"]["schemas"].update(schemas or {})
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def finish(schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    defs = InferenceRequest.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(defs.pop("$defs", {}))
    schemas["InferenceRequest"] = defs
    schemas["ErrorAnswer"] = ErrorAnswer.model_json_schema()
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    components["securitySchemes"] = SECURITY
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            _declare_errors(path, method, operation)
    return schema


def _declare_errors(path: str, method: str, operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    validation = responses.get("422", {}).get("content", {}).get("application/json", {}).get("schema", {})
    if validation.get("$ref", "").endswith("/HTTPValidationError"):
        del responses["422"]  # FastAPI's; this gateway answers a malformed request with a 400
    takes_input = bool(operation.get("parameters") or operation.get("requestBody"))
    codes = [400] if takes_input else []
    if method == "post":
        codes.append(413)
    if is_open(path):
        operation["security"] = []
    else:
        codes += [401, 403, 429]
        operation["security"] = [{"ApiKey": []}, {"Bearer": []}]
    for code in codes:
        responses.setdefault(str(code), _error(code))
    for code, response in responses.items():
        if code[0] in "45" and "content" not in response:
            response.update(_error(int(code)))


def _error(code: int) -> dict[str, Any]:
    return {"description": MEANING.get(code, "error"),
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorAnswer"}}}}  # fmt: skip
