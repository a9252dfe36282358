"""The registry of citymind's five libraries (models, algorithms, rules, knowledge, components) on MLflow."""

from citymind.errors import (
    AliasError,
    AssetNotFound,
    CitymindError,
    InvalidAsset,
    RegistryAccessDenied,
    RegistryError,
    RegistryUnavailable,
    UnknownKind,
    ValidationError,
)
from registry.base import Asset, AssetRegistry, AssetVersion, LineageRef
from registry.kinds import KIND_TAG, Kind
from registry.mlflow_registry import MlflowRegistry
from registry.refs import parse_ref

__all__ = [
    "KIND_TAG",
    "AliasError",
    "Asset",
    "AssetNotFound",
    "AssetRegistry",
    "AssetVersion",
    "CitymindError",
    "InvalidAsset",
    "Kind",
    "LineageRef",
    "MlflowRegistry",
    "RegistryAccessDenied",
    "RegistryError",
    "RegistryUnavailable",
    "UnknownKind",
    "ValidationError",
    "parse_ref",
]
