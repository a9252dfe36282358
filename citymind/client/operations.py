"""The gateway's operations, each a function that makes its :class:`~citymind.client._calls.Call`. The clients
expose every one as a method of the same name and parameters (``Client.classify(...)`` returns a
``ClassifyAnswer``; ``AsyncClient.classify(...)`` is awaited for one)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

from citymind.api import (
    ClassifyAnswer,
    ClassifyBatchAnswer,
    ComponentAnswer,
    ComponentList,
    DemandAnswer,
    DispatchAnswer,
    DriftAnswer,
    Evaluation,
    EventPage,
    EventRecord,
    ForecastAnswer,
    Health,
    IndicatorAnswer,
    InferenceAnswer,
    KnowledgeSearch,
    Lineage,
    ModelMetadata,
    ModelReady,
    Neighbourhood,
    Open311Receipt,
    Open311Request,
    Open311Service,
    OutcomeAnswer,
    Overview,
    RefreshAnswer,
    RegistryAsset,
    RegistryList,
    RegistryVersion,
    RuleBacktest,
    RuleCheck,
    RuleSource,
    RuleTestReport,
    ServerMetadata,
    TriageAnswer,
    TriageBatchAnswer,
    VersionPage,
    VideoAnalysis,
    VideoEvents,
    WhoAmI,
)
from citymind.client._calls import Call, Kind, frames_body, given, one_or_batch

Moment = datetime | str | None
OutcomeType = Literal["accepted", "returned", "reassigned", "category_corrected", "resolved", "closed", "reopened"]


def _seg(part: str) -> str:
    """A path segment as sent: ``/``, ``?``, ``#``, ``%`` and spaces escaped, so an id cannot change the path."""
    return quote(str(part), safe="")


def _version(version: int | None) -> str:
    return f"/versions/{version}" if version is not None else ""


def infer_path(name: str, version: int | None = None) -> str:
    return f"/v2/models/{_seg(name)}{_version(version)}/infer"


# -- health and the Open Inference Protocol --------------------------------------------------------------------


def live() -> Call[dict[str, Any]]:
    """``GET /v2/health/live``: the process answers."""
    return Call("GET", "/v2/health/live", dict)


def ready() -> Call[dict[str, Any]]:
    """``GET /v2/health/ready``: ``{"ready": bool, "models": {...}}`` (a 503 is read as ``ready: false``)."""
    return Call("GET", "/v2/health/ready", dict, accept=(503,))


def health() -> Call[Health]:
    """``GET /v1/health``: every part with its version and last error."""
    return Call("GET", "/v1/health", Health, accept=(503,))


def server_metadata() -> Call[ServerMetadata]:
    return Call("GET", "/v2", ServerMetadata)


def model_metadata(name: str, version: int | None = None) -> Call[ModelMetadata]:
    return Call("GET", f"/v2/models/{_seg(name)}{_version(version)}", ModelMetadata)


def model_ready(name: str, version: int | None = None) -> Call[ModelReady]:
    return Call("GET", f"/v2/models/{_seg(name)}{_version(version)}/ready", ModelReady)


def infer(name: str, inputs: list[dict[str, Any]], version: int | None = None, **body: Any) -> Call[InferenceAnswer]:
    """``POST /v2/models/{name}/infer`` with JSON tensors (``{"name", "shape", "datatype", "data"}``); for NumPy
    arrays and the binary extension use the client's ``infer_arrays``."""
    return Call("POST", infer_path(name, version), InferenceAnswer, json={"inputs": inputs, **body})


def refresh_models() -> Call[RefreshAnswer]:
    """``POST /v1/models/refresh`` (admin): read the registry's aliases now."""
    return Call("POST", "/v1/models/refresh", RefreshAnswer)


# -- the event engine ------------------------------------------------------------------------------------------


def classify(
    text: str | list[str], *, top_k: int = 3, model: str | None = None, version: int | None = None
) -> Call[ClassifyAnswer | ClassifyBatchAnswer]:
    """``POST /v1/events/classify``: one report (a str: ``ClassifyAnswer``) or a batch (a list:
    ``ClassifyBatchAnswer``)."""
    body = {**one_or_batch("text", "texts", text), **given(top_k=top_k, model=model, version=version)}
    answer = ClassifyBatchAnswer if isinstance(text, list) else ClassifyAnswer
    return Call("POST", "/v1/events/classify", answer, json=body)


def triage(report: dict[str, Any] | list[dict[str, Any]]) -> Call[TriageAnswer | TriageBatchAnswer]:
    """``POST /v1/events/triage``: a report ``{"text", "area"?, "time"?, "channel"?, "id"?, "reporter"?}`` or a
    list of them. Each answer is recorded as an event: sent again, it is retried only when every report has the
    channel's ``id`` (the gateway then answers the same event) or the gateway was never reached."""
    reports = report if isinstance(report, list) else [report]
    answer = TriageBatchAnswer if isinstance(report, list) else TriageAnswer
    body = one_or_batch("report", "reports", report)
    return Call("POST", "/v1/events/triage", answer, json=body, retry=all(r.get("id") for r in reports))


def forecast(
    history: list[float | None],
    end: datetime | str,
    *,
    indicator: str = "pm25",
    exog: dict[str, float | None] | None = None,
    model: str | None = None,
    version: int | None = None,
) -> Call[ForecastAnswer]:
    """``POST /v1/forecast``: the next hours of an indicator from its hourly history (oldest first)."""
    body = given(history=history, end=end, indicator=indicator, exog=exog, model=model, version=version)
    return Call("POST", "/v1/forecast", ForecastAnswer, json=body)


def evaluate_indicators(series: list[dict[str, Any]]) -> Call[IndicatorAnswer]:
    """``POST /v1/indicators/evaluate``: readings → forecasts → alert rules → warnings (recorded: not retried
    once sent)."""
    return Call("POST", "/v1/indicators/evaluate", IndicatorAnswer, json={"series": series}, retry=False)


def components() -> Call[ComponentList]:
    return Call("GET", "/v1/components", ComponentList)


def run_component(name: str, record: dict[str, Any] | list[dict[str, Any]]) -> Call[ComponentAnswer]:
    """``POST /v1/components/{name}`` with a record or a list of records."""
    return Call("POST", f"/v1/components/{_seg(name)}", ComponentAnswer, json=one_or_batch("record", "records", record))


def run_pipeline(name: str, record: dict[str, Any] | list[dict[str, Any]]) -> Call[ComponentAnswer]:
    return Call("POST", f"/v1/pipelines/{_seg(name)}", ComponentAnswer, json=one_or_batch("record", "records", record))


# -- recorded events, outcomes, 综合评判, the self-watch -----------------------------------------------------------


def events(
    *,
    status: str | None = None,
    department: str | None = None,
    area: str | None = None,
    category: str | None = None,
    kind: str | None = None,
    overdue: bool | None = None,
    since: Moment = None,
    until: Moment = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Call[EventPage]:
    """``GET /v1/events``: one page, newest first; ``next`` is the cursor of the page after."""
    params = given(status=status, department=department, area=area, category=category, kind=kind,
                   overdue=overdue, since=since, until=until, limit=limit, cursor=cursor)  # fmt: skip
    return Call("GET", "/v1/events", EventPage, params=params)


def event(event_id: str) -> Call[EventRecord]:
    return Call("GET", f"/v1/events/{_seg(event_id)}", EventRecord)


def add_outcome(event_id: str, outcome_id: str, type: OutcomeType, **fields: Any) -> Call[OutcomeAnswer]:
    """``POST /v1/events/{id}/outcomes`` (dispatcher): idempotent by ``outcome_id``, so always safe to retry;
    ``fields``: ``at``, ``department``, ``category``, ``reason``, ``reply``, ``satisfaction``."""
    body = given(outcome_id=outcome_id, type=type, **fields)
    return Call("POST", f"/v1/events/{_seg(event_id)}/outcomes", OutcomeAnswer, json=body)


def evaluation(
    by: str = "department", *, since: Moment = None, until: Moment = None, kind: str = "report"
) -> Call[Evaluation]:
    """``GET /v1/evaluation``: 综合评判 of a period per department, area, category, model, rules, kind or all."""
    return Call("GET", "/v1/evaluation", Evaluation, params=given(by=by, since=since, until=until, kind=kind))


def demand(
    *, days: int = 28, top: int = 20, until: Moment = None, area: str | None = None, category: str | None = None
) -> Call[DemandAnswer]:
    """``POST /v1/indicators/demand``: 需求感知 now (warnings recorded: not retried once sent)."""
    params = given(days=days, top=top, until=until, area=area, category=category)
    return Call("POST", "/v1/indicators/demand", DemandAnswer, params=params, retry=False)


def drift(*, days: int = 7, until: Moment = None, min_events: int = 100) -> Call[DriftAnswer]:
    """``GET /v1/evaluation/drift``: PSI of each recent model version against its training data."""
    return Call("GET", "/v1/evaluation/drift", DriftAnswer, params=given(days=days, until=until, min_events=min_events))


def drift_now(*, days: int = 7, until: Moment = None, min_events: int = 100) -> Call[DriftAnswer]:
    """``POST /v1/indicators/drift``: the drift figures through the alert rules (warnings recorded)."""
    params = given(days=days, until=until, min_events=min_events)
    return Call("POST", "/v1/indicators/drift", DriftAnswer, params=params, retry=False)


# -- Open311, the registry, video ------------------------------------------------------------------------------


def open311_services() -> Call[list[Open311Service]]:
    return Call("GET", "/open311/v2/services.json", list[Open311Service])


def open311_create(description: str, **fields: Any) -> Call[list[Open311Receipt]]:
    """``POST /open311/v2/requests.json`` (form): ``address_string``, ``lat``, ``long``, ``service_code``,
    ``account_id``, ``device_id``, ``email``, ``phone``. Recorded: not retried once sent."""
    return Call(
        "POST",
        "/open311/v2/requests.json",
        list[Open311Receipt],
        data=given(description=description, **fields),
        retry=False,
    )


def open311_request(request_id: str) -> Call[list[Open311Request]]:
    return Call("GET", f"/open311/v2/requests/{_seg(request_id)}.json", list[Open311Request])


def registry_assets(kind: Kind) -> Call[RegistryList]:
    return Call("GET", f"/v1/registry/{_seg(kind)}", RegistryList)


def registry_asset(kind: Kind, name: str) -> Call[RegistryAsset]:
    return Call("GET", f"/v1/registry/{_seg(kind)}/{_seg(name)}", RegistryAsset)


def analyze_video(
    camera: str, frames: list[bytes], *, timestamps: list[float] | None = None, fps: float | None = None
) -> Call[VideoAnalysis]:
    """``POST /v1/video/analyze``: JPEG/PNG frames of one camera, in order. A camera's tracks move on with each
    call, so a call is not sent twice."""
    body = frames_body(camera, frames, timestamps, fps)
    return Call("POST", "/v1/video/analyze", VideoAnalysis, json=body, retry=False)


def video_events(
    camera: str, frames: list[bytes], *, area: str | None = None, timestamps: list[float] | None = None
) -> Call[VideoEvents]:
    """``POST /v1/video/events``: the events the video rules raised (recorded), dispatched like reports."""
    body = frames_body(camera, frames, timestamps, None)
    return Call("POST", "/v1/video/events", VideoEvents, json=body, params=given(area=area), retry=False)


# -- the console's reads, rule files, registry writes and the knowledge graph ----------------------------------


def whoami() -> Call[WhoAmI]:
    """``GET /v1/whoami``: the key's id, its role and what the role may do."""
    return Call("GET", "/v1/whoami", WhoAmI)


def overview() -> Call[Overview]:
    """``GET /v1/overview``: health, served versions, canary splits and per-route figures of one replica."""
    return Call("GET", "/v1/overview", Overview)


def rules_schema() -> Call[dict[str, Any]]:
    """``GET /v1/rules/schema``: the rule files' JSON Schema, the fields per kind, the condition functions."""
    return Call("GET", "/v1/rules/schema", dict)


def rule_source(name: str, *, alias: str = "production", version: int | None = None) -> Call[RuleSource]:
    """``GET /v1/rules/{name}/source``: a registered rule file and its tests (by alias, or a version)."""
    return Call("GET", f"/v1/rules/{_seg(name)}/source", RuleSource, params=given(alias=alias, version=version))


def check_rules(text: str, *, tests: str | None = None) -> Call[RuleCheck]:
    """``POST /v1/rules/check``: every error and warning of a rule file at its line:col (registers nothing)."""
    return Call("POST", "/v1/rules/check", RuleCheck, json=given(text=text, tests=tests))


def test_rules(text: str, *, tests: str | None = None) -> Call[RuleTestReport]:
    """``POST /v1/rules/test``: run a rule file's tests (inline and ``tests``)."""
    return Call("POST", "/v1/rules/test", RuleTestReport, json=given(text=text, tests=tests))


def backtest_rules(
    text: str,
    *,
    kind: Literal["dispatch", "alert", "video"] = "alert",
    csv: str | None = None,
    compare: str | None = "pingdu-rules@production",
    value_col: str | None = None,
    time_cols: list[str] | None = None,
    since: str | None = None,
) -> Call[RuleBacktest]:
    """``POST /v1/rules/backtest``: per rule, how often it would have fired over a CSV (or the recorded
    reports), next to ``compare``."""
    body = given(text=text, kind=kind, csv=csv, value_col=value_col, time_cols=time_cols, since=since)
    return Call("POST", "/v1/rules/backtest", RuleBacktest, json={**body, "compare": compare})


def publish_rules(
    name: str, text: str, *, tests: str | None = None, alias: str | None = "production", description: str = ""
) -> Call[RegistryVersion]:
    """``POST /v1/rules/{name}/versions`` (rule_author): checked, tested, registered; ``alias`` moves to it.
    Not retried: a second send registers a second version."""
    body = {**given(text=text, tests=tests, description=description), "alias": alias}
    return Call("POST", f"/v1/rules/{_seg(name)}/versions", RegistryVersion, json=body, retry=False)


def registry_versions(kind: Kind, name: str, *, limit: int = 50, before: int | None = None) -> Call[VersionPage]:
    """``GET /v1/registry/{kind}/{name}/versions``: a page of versions, newest first; ``next`` → ``before``."""
    params = given(limit=limit, before=before)
    return Call("GET", f"/v1/registry/{_seg(kind)}/{_seg(name)}/versions", VersionPage, params=params)


def move_alias(kind: Kind, name: str, alias: str, version: int) -> Call[RegistryVersion]:
    """``POST /v1/registry/{kind}/{name}/aliases/{alias}``: point the alias at ``version`` (safe to repeat)."""
    return Call(
        "POST",
        f"/v1/registry/{_seg(kind)}/{_seg(name)}/aliases/{_seg(alias)}",
        RegistryVersion,
        json={"version": version},
    )


def roll_back_alias(kind: Kind, name: str, alias: str) -> Call[RegistryVersion]:
    """``POST /v1/registry/{kind}/{name}/aliases/{alias}/rollback``: back to where it pointed before (not
    retried: a second send would roll back further)."""
    return Call(
        "POST", f"/v1/registry/{_seg(kind)}/{_seg(name)}/aliases/{_seg(alias)}/rollback", RegistryVersion, retry=False
    )


def lineage() -> Call[Lineage]:
    """``GET /v1/lineage``: the aliased versions, what they came from, and the services that use them."""
    return Call("GET", "/v1/lineage", Lineage)


def knowledge_dispatch(category: str, area: str | None = None) -> Call[DispatchAnswer]:
    """``GET /v1/knowledge/dispatch``: 主办 and 协办 for a category in an area, with the catalogue path."""
    return Call("GET", "/v1/knowledge/dispatch", DispatchAnswer, params=given(category=category, area=area))


def knowledge_lookup(q: str, *, type: str | None = None) -> Call[list[dict[str, Any]]]:
    """``GET /v1/knowledge/nodes``: nodes named like ``q``, best first."""
    return Call("GET", "/v1/knowledge/nodes", list[dict[str, Any]], params=given(q=q, type=type))


def knowledge_search(q: str, *, k: int = 5, of: Literal["all", "cases"] = "all") -> Call[KnowledgeSearch]:
    """``GET /v1/knowledge/search``: documents and past cases most like ``q`` (``of="cases"``: past reports like it,
    each with its official reply)."""
    return Call("GET", "/v1/knowledge/search", KnowledgeSearch, params={"q": q, "k": k, "of": of})


def knowledge_neighbourhood(node: str, *, radius: int = 1) -> Call[Neighbourhood]:
    """``GET /v1/knowledge/nodes/{node}``: a node and what lies within ``radius`` edges of it."""
    return Call("GET", f"/v1/knowledge/nodes/{_seg(node)}", Neighbourhood, params={"radius": radius})
