"""The gateway's answers as Pydantic models: the routes declare them (``response_model``, so the OpenAPI gives
every answer a schema) and :mod:`citymind.client` returns them. Every model keeps fields it does not name
(``extra="allow"``), so an older client reads a newer gateway's answers."""

from citymind.api.common import Answer, ErrorAnswer
from citymind.api.events import (
    Classification,
    ClassifyAnswer,
    ClassifyBatchAnswer,
    DemandAnswer,
    DriftAnswer,
    Evaluation,
    EventPage,
    EventRecord,
    OutcomeAnswer,
    TriageAnswer,
    TriageBatchAnswer,
)
from citymind.api.indicators import ForecastAnswer, IndicatorAnswer
from citymind.api.open311 import Open311Receipt, Open311Request, Open311Service
from citymind.api.platform import (
    ComponentAnswer,
    ComponentList,
    Health,
    InferenceAnswer,
    ModelMetadata,
    ModelReady,
    RefreshAnswer,
    RegistryAsset,
    RegistryList,
    ServerMetadata,
)
from citymind.api.video import VideoAnalysis, VideoEvents

__all__ = [
    "Answer", "Classification", "ClassifyAnswer", "ClassifyBatchAnswer", "ComponentAnswer", "ComponentList",
    "DemandAnswer", "DriftAnswer", "ErrorAnswer", "Evaluation", "EventPage", "EventRecord", "ForecastAnswer",
    "Health", "IndicatorAnswer", "InferenceAnswer", "ModelMetadata", "ModelReady", "Open311Receipt",
    "Open311Request", "Open311Service", "OutcomeAnswer", "RefreshAnswer", "RegistryAsset", "RegistryList",
    "ServerMetadata", "TriageAnswer", "TriageBatchAnswer", "VideoAnalysis", "VideoEvents",
]  # fmt: skip
