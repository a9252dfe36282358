"""``citymind kg ...``: import, validate, export and query the city knowledge graph."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from citymind._output import emit

app = typer.Typer(
    help="The city knowledge graph: taxonomy, areas, departments, dispatch catalogue.", no_args_is_help=True
)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
RefOpt = Annotated[str, typer.Option("--ref", help="registered snapshot to use")]
DEFAULT_REF = "pingdu-knowledge@production"


def _graph(ref: str, file: Path | None = None) -> Any:
    from knowledge_graph.graph import CityKnowledge

    if file is not None:
        return CityKnowledge.load_graphml(file) if file.suffix == ".graphml" else CityKnowledge.load_json(file)
    from knowledge_graph.snapshot import KnowledgeSnapshot
    from registry import MlflowRegistry

    return KnowledgeSnapshot.from_registry(MlflowRegistry.from_settings(), ref).graph


@app.command("dispatch")
def dispatch(
    category: str,
    area: Annotated[str | None, typer.Argument()] = None,
    on: Annotated[str | None, typer.Option(help="ISO date for dated catalogue entries")] = None,
    ref: RefOpt = DEFAULT_REF,
    file: Annotated[Path | None, typer.Option()] = None,
    as_json: JsonOpt = False,
) -> None:
    """Lead (主办) and assisting (协办) departments for CATEGORY in AREA, with the path that explains it."""
    answer = _graph(ref, file).dispatch(category, area, on=on)
    if as_json:
        emit(answer.to_dict(), as_json=True)
        return
    typer.echo(
        f"{answer.category} @ {answer.area or '全市'} → 主办 {answer.lead}; 协办 {', '.join(answer.assists) or '—'}"
    )
    for step in answer.path:
        typer.echo(f"  {step}")


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
) -> None:
    """Import a multi-level routing catalogue (one column per level) as a category tree."""
    from knowledge_graph.taxonomy import import_catalogue as run

    kg = run(file, scheme=scheme, levels=levels.split(",") if levels else None)
    (kg.save_graphml if out.suffix == ".graphml" else kg.save_json)(out)
    typer.echo(f"{out}: {len(kg)} categories, {len(kg.leaf_categories())} leaves")


@app.command()
def export(out: Path, ref: RefOpt = DEFAULT_REF) -> None:
    """Write the registered graph as node-link JSON (.json) or GraphML (.graphml)."""
    kg = _graph(ref)
    (kg.save_graphml if out.suffix == ".graphml" else kg.save_json)(out)
    typer.echo(f"{out}: {len(kg)} nodes, {kg.graph.number_of_edges()} edges")


@app.command()
def coverage(
    ref: RefOpt = DEFAULT_REF, file: Annotated[Path | None, typer.Option()] = None, as_json: JsonOpt = False
) -> None:
    """Leaf categories without a lead department (anywhere up their tree)."""
    report = _graph(ref, file).coverage()
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        typer.echo(f"{report['covered']}/{report['leaf_categories']} leaf categories have a lead department")
        for label in report["without_lead"]:
            typer.echo(f"  missing: {label}")


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
    reply_col: Annotated[str, typer.Option(help="official reply column (what a search returns)")],
    text_col: Annotated[str | None, typer.Option(help="body column")] = None,
    embedder: Annotated[str, typer.Option(help="e5 | svd | none")] = "e5",
    name: Annotated[str, typer.Option(help="snapshot to extend")] = "pingdu-knowledge",
) -> None:
    """Index past cases into a new version of the knowledge snapshot (graph + case index), alias production."""
    import pandas as pd

    from knowledge_graph.retrieval import Case, CaseIndex, squeeze
    from knowledge_graph.snapshot import KnowledgeSnapshot
    from registry import MlflowRegistry

    frame = pd.read_csv(cases, dtype=str, keep_default_na=False)
    rows = [
        Case(str(i), r[title_col], squeeze(r[text_col]) if text_col else "", r[reply_col])
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


@app.command()
def search(
    text: str, k: Annotated[int, typer.Option(min=1, max=50)] = 5, ref: RefOpt = DEFAULT_REF, as_json: JsonOpt = False
) -> None:
    """Past cases and official replies most similar to TEXT."""
    from knowledge_graph.snapshot import KnowledgeSnapshot
    from registry import MlflowRegistry

    hits = KnowledgeSnapshot.from_registry(MlflowRegistry.from_settings(), ref).search(text, k)
    rows = [{"id": h.case.id, "score": h.score, "title": h.case.title, "reply": h.case.reply[:80]} for h in hits]
    emit(rows, as_json=as_json, columns=["id", "score", "title", "reply"])
