"""Answers of the routes the web console reads (and any other client may): who a key is, an overview of what is
served, rule files checked, tested, backtested and published, the registry's lineage, and the knowledge graph."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from citymind.api.common import Answer


class WhoAmI(Answer):
    """The key a request came with, its role and what that role may do."""

    key: str | None = Field(description="the key's id (never its secret); null when the gateway asks for no key")
    role: str = Field(examples=["rule_author"])
    may: list[str] = Field(description="the role's grants: read, infer, register:rule, backtest, operate …")
    auth: bool = Field(description="whether this gateway asks for keys")


class RouteFigures(Answer):
    route: str
    requests: int
    errors: int = Field(description="answers ≥ 400")
    p50_ms: float | None
    p95_ms: float | None


class ArmFigures(Answer):
    model: str
    version: str
    arm: str = Field(examples=["champion"])
    predictions: int


class ShadowFigures(Answer):
    model: str
    version: str
    agree: int
    disagree: int
    dropped: int


class Overview(Answer):
    """What this replica serves and how it has been doing since it started (its own metrics)."""

    health: dict[str, Any]
    routes: list[RouteFigures]
    arms: list[ArmFigures]
    shadow: list[ShadowFigures]
    splits: dict[str, dict[str, Any]] = Field(description="per model: challenger weight, shadow, version")
    uptime_s: float


class RuleSource(Answer):
    """A registered rule file: its text, its tests beside it, and what this replica serves."""

    name: str
    version: int
    aliases: list[str]
    text: str
    tests: str | None = Field(description="the *.test.yaml registered with it, if any")
    served: int | None = Field(description="the version of this rule set the replica evaluates (null: another set)")


class RuleProblem(Answer):
    line: int
    column: int
    severity: Literal["error", "warning"]
    message: str
    hint: str | None = None
    code: str = ""


class RuleCheck(Answer):
    """Every problem of a rule file in one pass: errors stop a publish, warnings do not."""

    ok: bool = Field(description="no errors (warnings allowed)")
    problems: list[RuleProblem]
    rules: int
    tests: int


class RuleTestResult(Answer):
    group: str
    name: str
    ok: bool
    diff: str


class RuleTestReport(Answer):
    ok: bool
    passed: int
    failed: int
    results: list[RuleTestResult]
    problems: list[RuleProblem] = Field(description="what kept the file from loading (then no test ran)")


class RuleBacktest(Answer):
    """Per rule of the edited file and of the version it is compared with: how often it would have fired."""

    rows: int
    kind: str
    rules: dict[str, dict[str, Any]]
    changes: dict[str, Any]


class LineageNode(Answer):
    id: str = Field(examples=["model:event-classifier/3"])
    kind: str
    name: str
    version: int | None
    aliases: list[str]


class LineageEdge(Answer):
    source: str
    target: str
    type: str = Field(examples=["trained_on"])


class Lineage(Answer):
    """Datasets → algorithms → models → the rules and knowledge that use them, as a graph."""

    nodes: list[LineageNode]
    edges: list[LineageEdge]


class GraphNode(Answer):
    id: str
    label: str
    type: str


class GraphEdge(Answer):
    source: str
    target: str
    type: str


class Neighbourhood(Answer):
    """A node of the knowledge graph and what lies within ``radius`` edges of it."""

    center: str
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    truncated: bool = Field(description="more nodes lie within the radius than were returned")


class KnowledgeHit(Answer):
    id: str
    title: str
    reply: str = Field(description="the official reply's first 500 characters ('' for a document without one)")
    score: float


class KnowledgeSearch(Answer):
    """Knowledge documents and past cases most like a text, best first."""

    q: str
    of: str = Field(description="all: documents and cases by message or reply; cases: past cases by report, replied")
    knowledge: str = Field(description="the knowledge snapshot searched", examples=["pingdu-knowledge/2"])
    hits: list[KnowledgeHit]


class DispatchAnswer(Answer):
    """Who leads and who assists for a category in an area, and the path through the catalogue that says so."""

    category: str
    area: str | None
    lead: str
    lead_id: str
    assists: list[str]
    assist_ids: list[str]
    source: str
    path: list[str]


class RegistryVersion(Answer):
    """One version of a registered asset, with the aliases that point at it now."""

    kind: str
    name: str
    version: int
    aliases: list[str]
    tags: dict[str, str]
    description: str = ""
    created_at: int | float | str | None = None
    lineage: list[dict[str, Any]] = Field(default_factory=list)


class VersionPage(Answer):
    """A page of an asset's versions, newest first; ``next`` is the ``before`` of the page after."""

    name: str
    kind: str
    latest: int | None
    versions: list[RegistryVersion]
    aliases: dict[str, int]
    next: int | None
