"""Answers of the platform's own routes: OIP metadata and inference, components, the registry, health."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from citymind.api.common import Answer


class ServerMetadata(Answer):
    name: str
    version: str
    extensions: list[str]


class TensorMetadata(Answer):
    name: str
    datatype: str
    shape: list[int]


class ModelMetadata(Answer):
    name: str
    versions: list[str]
    platform: str
    inputs: list[TensorMetadata]
    outputs: list[TensorMetadata]


class ModelReady(Answer):
    name: str
    ready: bool
    version: str | None = None


class Tensor(Answer):
    name: str
    datatype: str
    shape: list[int]
    data: list[Any] | None = Field(default=None, description="absent when the tensor is sent as binary data")
    parameters: dict[str, Any] | None = None


class InferenceAnswer(Answer):
    """Open Inference Protocol (KServe v2) inference response."""

    model_name: str
    model_version: str | None = None
    id: str | None = None
    parameters: dict[str, Any] | None = None
    outputs: list[Tensor]


class ComponentList(Answer):
    components: list[dict[str, Any]]
    pipelines: list[dict[str, Any]]


class ComponentAnswer(Answer):
    """A component's or pipeline's output: ``record`` for one record, ``records`` for a batch."""

    name: str
    record: dict[str, Any] | None = None
    records: list[dict[str, Any]] | None = None


class RegistryAsset(Answer):
    kind: str
    name: str
    description: str | None = None
    tags: dict[str, str]
    aliases: dict[str, int]
    latest_version: int | None = None
    versions: list[dict[str, Any]] | None = None


class RegistryList(Answer):
    kind: str
    assets: list[RegistryAsset]


class RefreshAnswer(Answer):
    changes: dict[str, Any]
    errors: dict[str, str]


class Health(Answer):
    """Every part, its served version and its last error."""

    ready: bool
    parts: dict[str, Any]
