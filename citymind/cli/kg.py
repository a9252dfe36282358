"""``citymind kg ...``: import, validate, export and query the city knowledge graph."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from citymind.cli._output import emit
from citymind.cli.events import open_records
from events.suggestions import catalogue_diff, suggest
from knowledge_graph.cases import Case, squeeze
from knowledge_graph.defaults import PINGDU_YAML
from knowledge_graph.graph import CityKnowledge
from knowledge_graph.retrieval import CaseIndex
from knowledge_graph.snapshot import KnowledgeSnapshot
from knowledge_graph.taxonomy import import_catalogue as run
from registry import AssetNotFound, MlflowRegistry, ValidationError

app = typer.Typer(
    help="The city knowledge graph: taxonomy, areas, departments, dispatch catalogue.", no_args_is_help=True
)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
RefOpt = Annotated[str, typer.Option("--ref", help="registered snapshot to use")]
DEFAULT_REF = "pingdu-knowledge@production"


def _graph(ref: str, file: Path | None = None) -> Any:
    if file is not None:
        return CityKnowledge.load_graphml(file) if file.suffix == ".graphml" else CityKnowledge.load_json(file)

    return KnowledgeSnapshot.from_registry(MlflowRegistry.from_settings(), ref).graph


@app.command("dispatch")
def dispatch(
    category: str,
    area: Annotated[str | None, typer.Argument()] = None,
    on: Annotated[str | None, typer.Option(help="ISO date YYYY-MM-DD (default today)")] = None,
    ref: RefOpt = DEFAULT_REF,
    file: Annotated[Path | None, typer.Option()] = None,
    as_json: JsonOpt = False,
) -> None:
    """Lead (主办) and assisting (协办) departments for CATEGORY in AREA, with the path that explains it."""
    kg = _graph(ref, file)
    answer = kg.dispatch(category, area, on=on)
    if as_json:
        emit(answer.to_dict(), as_json=True)
        return
    typer.echo(
        f"{answer.category} @ {answer.area or '全市'} → 主办 {answer.lead}; 协办 {', '.join(answer.assists) or '—'}"
    )
    for step in answer.path:
        typer.echo(f"  {step}")
    regulations = kg.regulations(answer.category)
    if regulations:
        typer.echo(f"  依据: {'; '.join(f'《{r}》' for r in regulations)}")


@app.command()
def validate(file: Path) -> None:
    """Validate a node-link JSON or GraphML file against the schema; every problem is listed."""
    kg = _graph("", file)
    typer.echo(f"{file}: valid ({len(kg)} nodes, {kg.graph.number_of_edges()} edges)")


@app.command("import")
def import_catalogue(
    file: Path,
    scheme: Annotated[str, typer.Option(help="scheme name, e.g. tipdm")],
    out: Annotated[Path, typer.Option(help="node-link .json or .graphml to write")],
    levels: Annotated[str | None, typer.Option(help="comma-separated level columns")] = None,
    into: Annotated[
        str, typer.Option(help="the registered graph to add the categories to; '' for a graph of them alone")
    ] = DEFAULT_REF,
) -> None:
    """Import a multi-level routing catalogue (one column per level) as a category tree, added to the served
    graph (its areas, departments and dispatch catalogue kept) unless --into ''."""

    base = _served_graph(into) if into else None
    nodes, leaves = (len(base), len(base.leaf_categories())) if base is not None else (0, 0)
    kg = run(file, scheme=scheme, levels=levels.split(",") if levels else None, into=base)
    (kg.save_graphml if out.suffix == ".graphml" else kg.save_json)(out)
    added = f", added to the {nodes} nodes of {into}" if base is not None else ""
    typer.echo(f"{out}: {len(kg) - nodes} categories, {len(kg.leaf_categories()) - leaves} leaves{added}")


@app.command()
def export(out: Path, ref: RefOpt = DEFAULT_REF) -> None:
    """Write the registered graph as node-link JSON (.json) or GraphML (.graphml)."""
    kg = _graph(ref)
    (kg.save_graphml if out.suffix == ".graphml" else kg.save_json)(out)
    typer.echo(f"{out}: {len(kg)} nodes, {kg.graph.number_of_edges()} edges")


@app.command()
def coverage(
    on: Annotated[str | None, typer.Option(help="ISO date (default today)")] = None,
    ref: RefOpt = DEFAULT_REF,
    file: Annotated[Path | None, typer.Option()] = None,
    as_json: JsonOpt = False,
) -> None:
    """Leaf categories without a city-wide lead department up their tree, and the areas each leaves out."""
    report = _graph(ref, file).coverage(on)
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    typer.echo(
        f"{report['covered']}/{report['leaf_categories']} leaf categories have a city-wide lead department "
        f"(on {report['on']})"
    )
    for gap in report["gaps"]:
        missing = gap["missing_in"]
        shown = ", ".join(missing[:6]) + (f" and {len(missing) - 6} more" if len(missing) > 6 else "")
        typer.echo(f"  missing: {gap['category']} ({gap['id']}): no lead in {shown}")


@app.command()
def lookup(
    text: str,
    type: Annotated[str | None, typer.Option(help="node type")] = None,
    ref: RefOpt = DEFAULT_REF,
    as_json: JsonOpt = False,
) -> None:
    """Find nodes by label, alias or code (exact, then fuzzy)."""
    matches = _graph(ref).lookup(text, type)
    emit([m.__dict__ for m in matches], as_json=as_json, columns=["node", "label", "type", "score", "matched"])


@app.command()
def index(
    cases: Annotated[Path, typer.Option(help="CSV of past cases or documents")],
    title_col: Annotated[str, typer.Option(help="title column")],
    text_col: Annotated[str | None, typer.Option(help="body column")] = None,
    reply_col: Annotated[str | None, typer.Option(help="official reply column; leave out for documents")] = None,
    embedder: Annotated[str, typer.Option(help="e5-int8 | e5 | svd | none")] = "e5-int8",
    name: Annotated[str, typer.Option(help="snapshot to extend")] = "pingdu-knowledge",
) -> None:
    """Index past cases (message → reply) or knowledge documents (title + body) into a new version of the
    knowledge snapshot (graph + case index), alias production."""
    import pandas as pd

    frame = pd.read_csv(cases, dtype=str, keep_default_na=False)
    _require_columns(cases, list(frame.columns), [title_col, text_col, reply_col])
    rows = [
        Case(str(i), r[title_col], squeeze(r[text_col]) if text_col else "", r[reply_col] if reply_col else "")
        for i, r in enumerate(frame.to_dict("records"))
    ]
    reg = MlflowRegistry.from_settings()
    current = reg.resolve(f"{name}@production")
    snapshot = KnowledgeSnapshot.from_registry(reg, current.uri)
    snapshot.cases = CaseIndex(embedder=embedder).fit(rows)
    version = snapshot.register(
        reg,
        name,
        description=f"{name} with {len(rows)} indexed cases from {cases.name}",
        lineage=[
            {"kind": "knowledge", "name": name, "version": current.version},
            {"kind": "dataset", "name": cases.name, "source": str(cases)},
        ],
    )
    typer.echo(f"{name}/{version.version} @production: graph + {len(rows)} cases ({embedder})")


def _require_columns(path: Path, have: list[str], wanted: list[str | None]) -> None:
    missing = [c for c in wanted if c is not None and c not in have]
    if missing:
        raise ValidationError(f"{path}: no column(s) {missing}; its columns are {have}.")


@app.command()
def register(
    file: Path,
    name: Annotated[str, typer.Option(help="knowledge snapshot to add a version to")] = "pingdu-knowledge",
    alias: Annotated[str, typer.Option(help="alias to point at the new version; '' for none")] = "production",
    keep_cases: Annotated[
        bool, typer.Option("--keep-cases/--no-cases", help="carry over the case index of NAME@ALIAS")
    ] = True,
    replace: Annotated[
        bool, typer.Option("--replace", help="register even if the graph has none of a kind of node NAME@ALIAS has")
    ] = False,
) -> None:
    """Register an imported or edited graph (node-link .json or .graphml) as a new version of a knowledge
    snapshot, after validating it (every problem is listed). A graph that would drop every area, department or
    other kind of node the version in service has is refused unless --replace."""

    snapshot = KnowledgeSnapshot(_graph("", file))
    reg = MlflowRegistry.from_settings()
    lineage: list[dict[str, Any]] = [{"kind": "dataset", "name": file.name, "source": str(file.resolve())}]
    current = _current_version(reg, name, alias) if alias else None
    served = _snapshot_of(reg, current) if current is not None and (keep_cases or not replace) else None
    if served is not None and not replace:
        _refuse_dropped_kinds(served.graph, snapshot.graph, current)
    previous = current if keep_cases else None
    if previous is not None and served is not None:
        snapshot.cases = served.cases
        lineage.insert(0, {"kind": "knowledge", "name": name, "version": previous.version})
    version = snapshot.register(reg, name, alias=alias or None, description=f"{name} from {file.name}", lineage=lineage)
    kept = f" + the case index of version {previous.version}" if snapshot.cases is not None and previous else ""
    where = f" @{alias}" if alias else ""
    edges = snapshot.graph.graph.number_of_edges()
    typer.echo(f"{name}/{version.version}{where}: {len(snapshot.graph)} nodes, {edges} edges{kept}")


def _served_graph(ref: str) -> CityKnowledge | None:
    """The graph to import into; none when the default is asked for and nothing is registered yet."""
    try:
        return _graph(ref)
    except AssetNotFound:
        if ref != DEFAULT_REF:
            raise
        typer.echo(f"{ref} is not registered: the catalogue makes a graph of its own", err=True)
        return None


def _refuse_dropped_kinds(served: CityKnowledge, new: CityKnowledge, current: Any) -> None:
    """Every kind of node the served graph has must stay: a catalogue registered alone would take the city's
    areas and departments out of dispatch (the gateway follows the alias within seconds)."""
    had, has = _kinds(served), _kinds(new)
    dropped = {kind: n for kind, n in had.items() if not has.get(kind)}
    if dropped:
        lost = ", ".join(f"{n} {kind}" for kind, n in sorted(dropped.items()))
        raise ValidationError(
            f"the graph has none of the {lost} nodes of {current.name}/{current.version}, which is in service: "
            "dispatch would lose them. Import a catalogue into the served graph (citymind kg import … --into, the "
            "default), or pass --replace to register it as it is."
        )


def _kinds(kg: CityKnowledge) -> dict[str, int]:
    return dict(Counter(str(data.get("type")) for _, data in kg.graph.nodes(data=True)))


def _current_version(reg: Any, name: str, alias: str) -> Any:
    try:
        return reg.resolve(f"{name}@{alias}")
    except AssetNotFound:
        return None  # a new snapshot, or one without that alias yet: nothing to carry over


def _snapshot_of(reg: Any, version: Any) -> KnowledgeSnapshot:
    """The version in service, read once: the kinds of node it has and the case index carried over."""
    try:
        return KnowledgeSnapshot.from_registry(reg, version.uri)
    except ValidationError as exc:
        raise ValidationError(f"{exc} Or register the graph alone with --no-cases.") from exc


@app.command()
def search(
    text: str, k: Annotated[int, typer.Option(min=1, max=50)] = 5, ref: RefOpt = DEFAULT_REF, as_json: JsonOpt = False
) -> None:
    """Past cases and official replies most similar to TEXT."""

    hits = KnowledgeSnapshot.from_registry(MlflowRegistry.from_settings(), ref).search(text, k)
    rows = [{"id": h.case.id, "score": h.score, "title": h.case.title, "reply": h.case.reply[:80]} for h in hits]
    emit(rows, as_json=as_json, columns=["id", "score", "title", "reply"])


@app.command("suggest")
def suggest_changes(
    from_events: Annotated[bool, typer.Option("--from-events", help="read the recorded reassignments (改派)")] = False,
    since: Annotated[str | None, typer.Option(help="outcomes from this ISO date on")] = None,
    min_count: Annotated[int, typer.Option(min=1, help="reassigned reports needed for a proposal")] = 3,
    share: Annotated[float, typer.Option(min=0.0, max=1.0, help="their least share of the group's")] = 0.6,
    catalogue: Annotated[Path, typer.Option(help="the catalogue YAML to diff against")] = PINGDU_YAML,
    out: Annotated[Path | None, typer.Option(help="write the diff to this file")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Propose dispatch-catalogue changes where a category in an area keeps being reassigned to the same
    department: a diff of the catalogue to review (never applied) and the evidence (counts, example events)."""
    if not from_events:
        raise typer.BadParameter("only --from-events is supported: suggestions come from the recorded outcomes")
    start = _day(since)
    records = open_records()
    try:
        found = suggest(records, start, min_count=min_count, share=share)
    finally:
        records.close()
    diff, skipped = catalogue_diff(found, catalogue) if found else ("", [])
    if out is not None:
        out.write_text(diff, encoding="utf-8")
    if as_json:
        report = {"suggestions": [s.to_dict() for s in found], "diff": diff, "not_placed": skipped}
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    columns = ["area", "category", "from_lead", "to_department", "count", "group", "share", "event_ids"]
    emit([s.to_dict() for s in found], as_json=False, columns=columns, title="repeated reassignments")
    for line in skipped:
        typer.echo(f"not placed: {line}", err=True)
    if not diff:
        typer.echo("no change to propose")
    else:
        typer.echo(f"diff written to {out}" if out is not None else diff)


def _day(day: str | None) -> float | None:
    if day is None:
        return None
    try:
        return datetime.fromisoformat(day).timestamp()
    except ValueError:
        raise typer.BadParameter(f"--since must be an ISO date, e.g. 2026-01-01. Got {day!r} instead.") from None
