"""Rule files over HTTP, for the console's editor and any rule author's tool: read the registered file, check it
(every problem in one pass), run its tests, backtest it against a CSV or the recorded reports, publish it as a new
version. Nothing here evaluates rule text as code: it goes through the same parser and compiler as a file."""

from __future__ import annotations

import io
import tempfile
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query
from fastapi import Path as PathParam
from pydantic import ConfigDict, Field

from citymind.api import RegistryVersion, RuleBacktest, RuleCheck, RuleSource, RuleTestReport
from citymind.errors import EventStoreUnavailable, Unprocessable
from events.backtest import backtest_events
from registry import AssetRegistry, AssetVersion
from rules.checks import check_rules, check_tests
from rules.expressions import FUNCTIONS
from rules.loader import MAX_FILE_BYTES, RuleFileError, RuleSet, parse_rules, tests_beside, with_tests
from rules.schema import FIELDS, SCHEMA, TESTS_SCHEMA
from rules.service import load_registered, register_ruleset, registered_file
from rules.testing import backtest, compare_reports, events_from_csv, run_tests
from serving.openapi import errors
from serving.replica import Replica
from serving.requests import MAX_VERSION, NAME_PATTERN, RequestBody

Name = Annotated[str, PathParam(max_length=100, pattern=NAME_PATTERN)]
#: rows of history one backtest request may replay (``citymind rules backtest`` takes any number)
MAX_ROWS = 100_000
RULES_EXAMPLE = """groups:
  - name: event-dispatch
    kind: dispatch
    rules:
      - id: noise-night
        when: category == '噪音扰民' and (hour >= 22 or hour < 6)
        then: {priority: P2, sla: 4h}
    tests:
      - name: noise at midnight
        input: {category: 噪音扰民, hour: 0}
        expect: [noise-night]
"""


class RuleText(RequestBody):
    """A rule file as its author has it in the editor, and the tests beside it (``x.test.yaml``) if any."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"text": RULES_EXAMPLE}]})

    text: str = Field(max_length=MAX_FILE_BYTES)
    tests: str | None = Field(None, max_length=MAX_FILE_BYTES, description="the *.test.yaml beside it")


class BacktestRequest(RuleText):
    """The edited file over history: a CSV given here (one row per event or hour), or else the recorded reports."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"text": RULES_EXAMPLE, "kind": "dispatch", "csv": "category,hour\n噪音扰民,23\n噪音扰民,12\n"},
                {"text": RULES_EXAMPLE, "kind": "dispatch", "since": "2026-01-01"},
            ]
        }
    )

    compare: str | None = Field(
        "pingdu-rules@production", max_length=120, description="a registered version to compare with (null: none)"
    )
    kind: Literal["dispatch", "alert", "video"] = "alert"
    csv: str | None = Field(None, max_length=1_500_000, description="history, one row per event or hour (CSV)")
    value_col: str | None = Field(None, max_length=100, description="the CSV column exposed as `value`")
    time_cols: list[str] = Field(default_factory=list, max_length=4, description="e.g. year, month, day, hour")
    since: str | None = Field(
        None, max_length=10, pattern=r"^\d{4}-\d{2}-\d{2}$", description="without csv: recorded reports from this day"
    )


class PublishRequest(RuleText):
    """A new version of a rule set: checked and tested first; ``alias`` moves to it (production by default)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"text": RULES_EXAMPLE, "alias": "staging", "description": "夜间噪音提级"}]}
    )

    description: str = Field("", max_length=500)
    alias: str | None = Field("production", max_length=40, pattern=NAME_PATTERN, description="null: no alias moves")


def rules_router(replica: Replica) -> APIRouter:
    router = APIRouter(tags=["Rules"])
    registry = replica.hub.registry

    @router.get("/v1/rules/schema", name="rules_schema", response_model=dict[str, Any])
    def rules_schema() -> dict[str, object]:
        """What an editor needs to help a rule author: the JSON Schema of rule files and of their tests, the
        fields each kind of rule reads, and the functions a condition may call. (``schema`` is not a rule set
        name.)"""
        return {
            "schema": SCHEMA,
            "tests_schema": TESTS_SCHEMA,
            "fields": {kind: sorted(fields) for kind, fields in FIELDS.items()},
            "functions": sorted(FUNCTIONS),
        }

    @router.get(
        "/v1/rules/{name}/source", name="rule_source", response_model=RuleSource, responses=errors(404, 422, 503)
    )
    def rule_source(
        name: Name,
        alias: Annotated[str, Query(max_length=40, pattern=NAME_PATTERN)] = "production",
        version: Annotated[int | None, Query(ge=1, le=MAX_VERSION)] = None,
    ) -> dict[str, object]:
        """A registered rule file (by alias, or a version) with its tests, and the version this replica serves."""
        registry.get(name, "rule")  # a 404 naming the kind when ``name`` is another library's
        target = registry.resolve(f"{name}/{version}" if version else f"{name}@{alias}")
        try:
            path = registered_file(registry, target)
        except RuleFileError as exc:  # a version registered by other means than a rule file
            raise Unprocessable(str(exc)) from exc
        beside = tests_beside(path)
        text, tests = path.read_text(encoding="utf-8"), beside.read_text(encoding="utf-8") if beside.is_file() else None
        status = replica.engine.rules.status()
        served = status["version"] if status["name"] == name else None
        return {"name": target.name, "version": target.version, "aliases": list(target.aliases), "text": text,
                "tests": tests, "served": served}  # fmt: skip

    @router.post("/v1/rules/check", name="check_rules", response_model=RuleCheck, responses=errors(400))
    async def check(body: RuleText) -> dict[str, object]:
        """Every error and warning of a rule file in one pass, each at its line:col (nothing is registered)."""
        return await replica.off_loop(_check, body)

    @router.post("/v1/rules/test", name="test_rules", response_model=RuleTestReport, responses=errors(400))
    async def test(body: RuleText) -> dict[str, object]:
        """Run the file's tests (inline and beside it): each test's expected and fired rules, a diff when they
        differ."""
        return await replica.off_loop(_test, body)

    @router.post("/v1/rules/backtest", name="backtest_rules", response_model=RuleBacktest, responses=errors(400, 422))
    async def backtest_route(body: BacktestRequest) -> dict[str, object]:
        """How often each rule would have fired over history — a CSV given here, or else the recorded reports —
        next to a registered version (``compare``). No side effects."""
        return await replica.off_loop(_backtest, replica, body)

    @router.post(
        "/v1/rules/{name}/versions",
        name="publish_rules",
        response_model=RegistryVersion,
        responses=errors(400, 422, 503),
    )
    async def publish(name: Name, body: Annotated[PublishRequest, Body()]) -> dict[str, object]:
        """Check the file, run its tests, register it as a new version of ``name`` and move ``alias`` to it. A
        file with an error or a failing test registers nothing (422, with every problem). Gateways serve it
        within their refresh interval."""
        version = await replica.off_loop(_publish, registry, name, body)
        return version.to_dict()

    return router


def _load(body: RuleText) -> RuleSet:
    """The rule file and its tests as one rule set; :class:`RuleFileError` with every problem otherwise."""
    ruleset = parse_rules(body.text, "rules.yaml")
    return with_tests(ruleset, body.tests, "rules.test.yaml") if body.tests else ruleset


def _problems(body: RuleText) -> list[dict[str, object]]:
    """Every problem of the file and, when it has no error, of the tests beside it."""
    found = check_rules(body.text, "rules.yaml")
    if body.tests and not any(p.severity == "error" for p in found):
        found += check_tests(body.tests, body.text)
    return [asdict(p) for p in found]


def _check(body: RuleText) -> dict[str, object]:
    problems = _problems(body)
    if any(p["severity"] == "error" for p in problems):
        return {"ok": False, "problems": problems, "rules": 0, "tests": 0}
    ruleset = _load(body)
    return {"ok": True, "problems": problems, "rules": len(ruleset.rules), "tests": len(ruleset.tests)}


def _test(body: RuleText) -> dict[str, object]:
    try:
        ruleset = _load(body)
    except RuleFileError:
        errors = [p for p in _problems(body) if p["severity"] == "error"]
        return {"ok": False, "passed": 0, "failed": 0, "results": [], "problems": errors}
    results = [{"group": r.group, "name": r.name, "ok": r.ok, "diff": r.diff()} for r in run_tests(ruleset)]
    failed = sum(not r["ok"] for r in results)
    return {"ok": not failed, "passed": len(results) - failed, "failed": failed, "results": results, "problems": []}


def _backtest(replica: Replica, body: BacktestRequest) -> dict[str, object]:
    edited = _strict_load(body)
    compared = load_registered(replica.hub.registry, body.compare) if body.compare else None
    if body.csv is None:
        return _events_backtest(replica, edited, compared, body)
    try:
        rows = events_from_csv(io.StringIO(body.csv), value_col=body.value_col, time_cols=body.time_cols)  # type: ignore[arg-type]
    except (ValueError, KeyError, TypeError, ArithmeticError) as exc:  # pandas' parse, column and date errors
        raise Unprocessable(f"csv: cannot read it as rows of history: {type(exc).__name__}: {exc}") from exc
    if len(rows) > MAX_ROWS:
        raise Unprocessable(f"csv: {len(rows)} rows; a backtest here takes at most {MAX_ROWS} (use the CLI for more)")
    report: dict[str, Any] = {"edited": backtest(edited, body.kind, rows)}
    changes: dict[str, Any] = {}
    if compared is not None:
        report[body.compare or ""] = backtest(compared, body.kind, rows)
        changes = dict(compare_reports(report[body.compare or ""], report["edited"]))
    return {"rows": len(rows), "kind": body.kind, "rules": report, "changes": changes}


def _events_backtest(
    replica: Replica, edited: RuleSet, compared: RuleSet | None, body: BacktestRequest
) -> dict[str, object]:
    if replica.records is None:
        raise EventStoreUnavailable("no CSV given and this gateway records no events to backtest against")
    try:
        since = datetime.fromisoformat(body.since).timestamp() if body.since else None
    except ValueError as exc:
        raise Unprocessable(f"since: {body.since!r} is not a day of the calendar ({exc})") from exc
    new = backtest_events(replica.records, edited, since=since)
    report: dict[str, Any] = {"edited": new["rules"]}
    changes: dict[str, Any] = {"edited": new["changes"]}
    if compared is not None:
        old = backtest_events(replica.records, compared, since=since)
        report[body.compare or ""] = old["rules"]
        changes[body.compare or ""] = old["changes"]
    return {"rows": new["events"], "kind": "dispatch", "rules": report, "changes": changes}


def _strict_load(body: RuleText) -> RuleSet:
    try:
        return _load(body)
    except RuleFileError as exc:
        raise Unprocessable("the rule file has problems: " + "; ".join(exc.problems[:10])) from exc


def _publish(registry: AssetRegistry, name: str, body: PublishRequest) -> AssetVersion:
    """``register_ruleset`` checks and tests the file before anything is written."""
    with tempfile.TemporaryDirectory(prefix="citymind-rules-") as tmp:
        path = Path(tmp) / name / f"{name}.yaml"
        path.parent.mkdir()
        path.write_text(body.text, encoding="utf-8")
        if body.tests:
            path.with_suffix(".test.yaml").write_text(body.tests, encoding="utf-8")
        try:
            return register_ruleset(registry, name, path, alias=body.alias, description=body.description)
        except RuleFileError as exc:  # a problem of the file, or a failing test
            raise Unprocessable("not published: " + "; ".join(exc.problems[:10])) from exc
