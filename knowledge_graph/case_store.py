"""A case index on disk: JSON, ``.npy``/``.npz`` and faiss files, nothing pickled, so an index from the
registry loads safely; the embedder it was built with is recorded and checked on load."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np

from knowledge_graph.cases import Case, View, char_ngrams
from knowledge_graph.embedders import check_identity
from registry import ValidationError

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer

FORMAT = 2  # 2: message and reply views, embedder identity recorded
PARAMETERS = ("embedder", "lexical_weight", "svd_dims", "nprobe", "nlist", "ivf_threshold", "common_terms")


class FittedIndex(Protocol):
    """What is saved of a fitted ``retrieval.CaseIndex`` besides its ``PARAMETERS``, and read back into one."""

    embedder: str
    nprobe: int
    embedder_identity_: dict[str, str]
    cases_: list[Case]
    vectorizer_: TfidfVectorizer
    components_: np.ndarray
    views_: dict[str, View]


Index = TypeVar("Index", bound=FittedIndex)


def save_index(index: FittedIndex, folder: Path) -> Path:
    import faiss
    import scipy.sparse as sp

    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "format": FORMAT,
        **{k: getattr(index, k) for k in PARAMETERS},
        "embedder_identity": index.embedder_identity_,
        "views": list(index.views_),
        "vocabulary": {t: int(i) for t, i in index.vectorizer_.vocabulary_.items()},
    }
    (folder / "config.json").write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    cases = [asdict(c) for c in index.cases_]
    (folder / "cases.json").write_text(json.dumps(cases, ensure_ascii=False), encoding="utf-8")
    np.save(folder / "idf.npy", index.vectorizer_.idf_)
    if index.embedder == "svd":
        np.save(folder / "components.npy", index.components_)
    for name, view in index.views_.items():
        np.save(folder / f"{name}.rows.npy", view.rows)
        sp.save_npz(folder / f"{name}.tfidf.npz", view.matrix)
        if view.dense is not None:
            faiss.write_index(view.dense, str(folder / f"{name}.faiss"))
    return folder


def load_index(cls: Callable[..., Index], folder: Path) -> Index:
    config = _config(folder)
    index = cls(**{k: config[k] for k in PARAMETERS if k in config})  # older indexes: the defaults
    index.embedder_identity_ = config["embedder_identity"]
    index.cases_ = [Case(**c) for c in json.loads((folder / "cases.json").read_text(encoding="utf-8"))]
    index.vectorizer_ = char_ngrams(config["vocabulary"])
    index.vectorizer_.idf_ = np.load(folder / "idf.npy", allow_pickle=False)
    if index.embedder == "svd":
        index.components_ = np.load(folder / "components.npy", allow_pickle=False)
    index.views_ = {name: _view(folder, name, index) for name in config["views"]}
    return index


def _config(folder: Path) -> dict[str, Any]:
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValidationError(f"{folder}: no readable case index config ({exc}).") from exc
    if config.get("format") != FORMAT:
        raise ValidationError(
            f"{folder}: the case index has format {config.get('format', 1)}, this citymind reads format {FORMAT} "
            "(message and reply views, embedder recorded); rebuild it with `citymind kg index`."
        )
    check_identity(config["embedder_identity"], folder)
    return dict(config)


def _view(folder: Path, name: str, index: FittedIndex) -> View:
    import faiss
    import scipy.sparse as sp

    dense = folder / f"{name}.faiss"
    view = View(
        np.load(folder / f"{name}.rows.npy", allow_pickle=False),
        sp.load_npz(folder / f"{name}.tfidf.npz").tocsc(),
        faiss.read_index(str(dense)) if dense.exists() else None,
    )
    ivf = faiss.try_extract_index_ivf(view.dense) if view.dense is not None else None
    if ivf is not None:
        ivf.nprobe = index.nprobe
    return view
