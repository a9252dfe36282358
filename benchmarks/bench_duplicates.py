"""Duplicate detection (并单) on real citizen messages: the recent-report store (``events.recent``, MinHash
signatures of character bigrams) against the exact bigram Jaccard it replaced (copied below as the baseline), in one
run on the same stream: the 495 labelled messages (主题 + 详情, CITYMIND_SHARED_DATA) and near-duplicate variants
made by realistic edits (a clause dropped or added, a few characters changed, numbers swapped, exact repeats,
a clause dropped and characters changed), shuffled, keyed by category (area None: every message of a category is
a candidate). Figures: pairs found and the new store's precision/recall against the exact one, add() p50/p99,
bytes per report (tracemalloc, 20,000 reports), state-file bytes per report, refilling 20,000 reports, and the
same agreement at other signature lengths. Prints JSON with the ratios to the baseline.
Run: ``.venv/bin/python benchmarks/bench_duplicates.py > docs/benchmarks/duplicates.json``"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import random
import re
import statistics
import sys
import threading
import time
import tracemalloc
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from events import recent
from events.recent import RecentReports

REPO = Path(__file__).resolve().parent.parent
Row = tuple[str, str, str, str | None, str | None, float]
KINDS = ("repeat", "drop_clause", "add_clause", "edit_chars", "swap_numbers", "drop_and_edit")
ADDED = (
    "请相关部门尽快处理。",
    "希望领导重视这个问题！",
    "已经反映过多次了，一直没有解决。",
    "谢谢！",
    "恳请尽快回复。",
)


class ExactRecentReports:
    """The store before MinHash (events/recent.py at ad0a6ea), its duplicate search unchanged: a frozenset of
    character bigrams per report, exact Jaccard with each candidate."""

    def __init__(self, window_s: float = 72 * 3600, max_reports: int = 20_000, similarity: float = 0.5,
                 *, max_candidates: int = 500, max_duplicates: int = 5) -> None:  # fmt: skip
        self.window_s, self.max_reports, self.similarity = window_s, max_reports, similarity
        self.max_candidates, self.max_duplicates = max_candidates, max_duplicates
        self._reports: OrderedDict[str, tuple[str, frozenset[str], tuple, str | None, float]] = OrderedDict()
        self._by_key: dict[tuple, list[str]] = defaultdict(list)
        self._by_reporter: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    def add(self, id: str, text: str, category: str, area: str | None, reporter: str | None, at: float) -> Any:
        report = (id, bigrams(text), (area, category), reporter, at)
        with self._lock:
            while self._reports and at - next(iter(self._reports.values()))[4] > self.window_s:
                self._drop(next(iter(self._reports)))
            if id in self._reports:
                self._drop(id)
            duplicates = []
            for other_id in self._by_key.get(report[2], [])[-self.max_candidates :]:
                other = self._reports[other_id]
                score = jaccard(report[1], other[1])
                if abs(at - other[4]) <= self.window_s and score >= self.similarity:
                    duplicates.append({"id": other[0], "similarity": round(score, 3), "at": other[4]})
            count = 1 + (self._by_reporter.get(reporter, 0) if reporter else 0)
            self._reports[id] = report
            self._by_key[report[2]].append(id)
            if reporter:
                self._by_reporter[reporter] += 1
            while len(self._reports) > self.max_reports:
                self._drop(next(iter(self._reports)))
        duplicates.sort(key=lambda d: (-float(d["similarity"]), -float(d["at"])))
        return duplicates[: self.max_duplicates], count

    def records(self) -> list[list[Any]]:
        return [[r[0], "".join(r[1]), *r[2], r[3], r[4]] for r in self._reports.values()]

    def _drop(self, id: str) -> None:
        report = self._reports.pop(id)
        ids = self._by_key[report[2]]
        ids.remove(id)
        if not ids:
            del self._by_key[report[2]]
        if report[3]:
            self._by_reporter[report[3]] -= 1
            if not self._by_reporter[report[3]]:
                del self._by_reporter[report[3]]


def bigrams(text: str) -> frozenset[str]:
    squeezed = "".join(text.split())
    return frozenset(squeezed[i : i + 2] for i in range(len(squeezed) - 1)) or frozenset([squeezed])


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def messages() -> list[tuple[str, str, str]]:
    """(留言编号, 主题 + 详情, 一级分类) of the labelled messages."""
    import pandas as pd

    data = Path(os.environ.get("CITYMIND_SHARED_DATA", REPO.parent / "shared" / "data"))
    frame = pd.read_csv(data / "complaints" / "tipdm2020_messages_labeled.csv", dtype=str)
    return [
        (str(n), "".join(f"{t}。{d}".split()), c)
        for n, t, d, c in zip(frame["留言编号"], frame["留言主题"], frame["留言详情"], frame["一级分类"], strict=True)
    ]


def variant(text: str, kind: str, rng: random.Random) -> str:
    """``text`` edited as a caller retelling it might: the same complaint, not the same string."""
    clauses = [c for c in re.split(r"(?<=[，。；！？,;!?])", text) if c]
    if kind == "drop_clause" and len(clauses) >= 3:
        del clauses[rng.randrange(1, len(clauses))]
        return "".join(clauses)
    if kind == "add_clause":
        clauses.insert(rng.randrange(1, len(clauses) + 1), rng.choice(ADDED))
        return "".join(clauses)
    if kind == "keep_half" and len(clauses) >= 4:  # a retelling that keeps half of it: near the threshold
        kept = sorted(rng.sample(range(len(clauses)), len(clauses) // 2))
        return "".join(clauses[i] for i in kept)
    if kind == "swap_numbers" and re.search(r"\d", text):
        return re.sub(r"\d+", lambda m: str(rng.randrange(1, 10 ** len(m.group()))), text)
    if kind in ("edit_chars", "drop_and_edit"):
        if kind == "drop_and_edit" and len(clauses) >= 3:
            del clauses[rng.randrange(1, len(clauses))]
        chars = list("".join(clauses))
        for _ in range(rng.randint(1, 3)):
            chars[rng.randrange(len(chars))] = rng.choice(text)
        return "".join(chars)
    return text  # repeat (and an edit the text has nothing for)


def stream(seed: int = 7, kinds: tuple[str, ...] = KINDS) -> tuple[list[Row], set[frozenset[str]]]:
    """Each message and two variants of it (kinds drawn at random), shuffled, a minute apart; and the pairs made
    from one message (what a perfect detector would merge)."""
    rng = random.Random(seed)
    rows, families = [], []
    for n, text, category in messages():
        family = [(n, text)] + [(f"{n}-{j}{k}", variant(text, k, rng)) for j, k in enumerate(rng.sample(kinds * 2, 2))]
        families.append([i for i, _ in family])
        rows += [(i, t, category, None, f"caller-{n}", 0.0) for i, t in family]
    rng.shuffle(rows)
    made = {frozenset((a, b)) for f in families for a in f for b in f if a != b}
    return [(*r[:5], 60.0 * i) for i, r in enumerate(rows)], made


def pairs(store: Any, rows: list[Row], duplicates: Callable[[Any], list[dict]]) -> dict[frozenset[str], float]:
    """Every (new, earlier) pair the store finds, with its similarity."""
    found = {}
    for row in rows:
        for d in duplicates(store.add(*row)):
            found[frozenset((row[0], d["id"]))] = d["similarity"]
    return found


def agreement(rows: list[Row], made: set[frozenset[str]], old: dict[frozenset[str], float]) -> dict[str, Any]:
    new = pairs(RecentReports(max_duplicates=10**6), rows, lambda seen: seen.duplicates)
    both = old.keys() & new.keys()
    exact = {r[0]: bigrams(r[1]) for r in rows}
    errors = [abs(s - jaccard(*(exact[i] for i in p))) for p, s in new.items()]
    missed = sorted(round(old[p], 3) for p in old.keys() - new.keys())
    return {
        "pairs_found": len(new),
        "recall_vs_exact": round(len(both) / len(old), 4),
        "precision_vs_exact": round(len(both) / len(new), 4),
        "recall_of_made_pairs": round(len(made & new.keys()) / len(made), 4),
        "similarity_abs_error_mean": round(statistics.fmean(errors), 4),
        "similarity_abs_error_max": round(max(errors), 4),
        "missed_exact_similarities": missed,
        "extra_exact_similarities": sorted(round(jaccard(*(exact[i] for i in p)), 3) for p in new.keys() - old.keys()),
    }


@contextmanager
def permutations(k: int) -> Iterator[None]:
    """The store with ``k`` signature slots (its parameters drawn as the module draws them), for this block."""
    saved = recent.PERMUTATIONS, recent._A, recent._B
    a, b = np.frombuffer(hashlib.shake_256(b"citymind.events.recent").digest(16 * k), "<u8").reshape(2, -1)
    recent.PERMUTATIONS, recent._A, recent._B = k, a | np.uint64(1), b
    try:
        yield
    finally:
        recent.PERMUTATIONS, recent._A, recent._B = saved


def add_times_us(make: Callable[[], Any], rows: list[Row], rounds: int = 3) -> dict[str, float]:
    times = []
    for _ in range(rounds):
        store = make()
        for row in rows:
            start = time.perf_counter()
            store.add(*row)
            times.append((time.perf_counter() - start) * 1e6)
    q = statistics.quantiles(times, n=100)
    return {"p50": round(q[49], 1), "p99": round(q[98], 1), "mean": round(statistics.fmean(times), 1)}


def many(rows: list[Row], n: int = 20_000) -> list[Row]:
    """``n`` reports cycling over the stream's texts, each its own id and reporter, 10 s apart (all in the window)."""
    return [(f"r{i:06d}", rows[i % len(rows)][1], rows[i % len(rows)][2], None, hashlib.blake2b(str(i).encode(),
             digest_size=8).hexdigest(), 10.0 * i) for i in range(n)]  # fmt: skip


def memory(make: Callable[..., Any], rows: list[Row]) -> dict[str, float]:
    """Bytes per report held (tracemalloc, the store filled with ``rows``; compared with one candidate each, to be
    quick), of the saved state, and the time to refill a store from ``rows`` (500 candidates each, as in service)."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    store = make(max_candidates=1)
    for row in rows:
        store.add(*row)
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    saved = len(json.dumps(store.records(), ensure_ascii=False, separators=(",", ":")).encode())
    start = time.perf_counter()
    refill = make()
    for row in rows:
        refill.add(*row)
    refill_s = time.perf_counter() - start
    out = {"reports": len(rows), "bytes_per_report": round(held / len(rows)), "state_file_bytes_per_report":
           round(saved / len(rows)), "refill_s": round(refill_s, 2)}  # fmt: skip
    if isinstance(store, RecentReports):
        out["counted_bytes_per_report"] = round(store.nbytes / len(store))
    return out


def compare_us(k: int, n: int = 500, rounds: int = 2000) -> float:
    """One signature against ``n`` candidates' (the vectorised comparison in ``add``)."""
    rng = np.random.default_rng(0)
    sigs = [rng.integers(0, 2**32, k, dtype=np.uint32).tobytes() for _ in range(n + 1)]
    start = time.perf_counter()
    for _ in range(rounds):
        recent.similarities(sigs[0], sigs[1:])
    return round((time.perf_counter() - start) / rounds * 1e6, 1)


def main() -> None:
    rows, made = stream()
    old = pairs(ExactRecentReports(max_duplicates=10**6), rows, lambda seen: seen[0])
    exact = {"pairs_found": len(old), "recall_of_made_pairs": round(len(made & old.keys()) / len(made), 4)}
    hard, hard_made = stream(11, ("keep_half",))  # most exact pairs within 0.15 of the threshold: the worst case
    hard_old = pairs(ExactRecentReports(max_duplicates=10**6), hard, lambda seen: seen[0])
    by_k, near = {}, {}
    for k in (64, 128, 256):
        with permutations(k):
            by_k[k] = {**agreement(rows, made, old), "add_us": add_times_us(RecentReports, rows, rounds=1)}
            near[k] = agreement(hard, hard_made, hard_old)
    chosen = recent.PERMUTATIONS
    new = by_k[chosen]
    times = {"exact": add_times_us(ExactRecentReports, rows), "minhash": add_times_us(RecentReports, rows)}
    big = many(rows)
    mem = {"exact": memory(lambda **kw: ExactRecentReports(max_reports=10**6, **kw), big),
           "minhash": memory(lambda **kw: RecentReports(max_reports=10**6, max_bytes=2**40, **kw), big)}  # fmt: skip
    lengths = [len(r[1]) for r in rows]
    report = {
        "benchmark": "duplicates",
        "setup": {
            "messages": len(rows) // 3,
            "reports": len(rows),
            "variant_kinds": list(KINDS),
            "made_pairs": len(made),
            "text_chars_p50_max": [int(statistics.median(lengths)), max(lengths)],
            "similarity": 0.5,
            "max_candidates": 500,
            "permutations": chosen,
            "key": "(None, 一级分类): every earlier report of the category within the window is a candidate",
        },
        "exact": {**exact, "add_us": times["exact"], "memory": mem["exact"]},
        "minhash": {
            **{k: v for k, v in new.items() if k != "add_us"},
            "add_us": times["minhash"],
            "memory": mem["minhash"],
            "compare_one_against_500_us": compare_us(chosen),
        },
        "by_permutations": {
            k: {key: v[key] for key in ("recall_vs_exact", "precision_vs_exact", "similarity_abs_error_mean", "add_us")}
            | {"compare_one_against_500_us": compare_us(k), "bytes_per_signature": 4 * k}
            | {"near_threshold": {key: near[k][key] for key in ("recall_vs_exact", "precision_vs_exact")}}
            for k, v in by_k.items()
        },
        "near_threshold": {
            "what": "each message and two retellings keeping a random half of its clauses (keep_half)",
            "exact_pairs_found": len(hard_old),
            "exact_pairs_within_0.15_of_threshold": sum(0.5 <= s < 0.65 for s in hard_old.values()),
            "minhash": {k: v for k, v in near[chosen].items() if not k.endswith("similarities")},
        },
        "ratios_to_exact": {
            "pairs_found": round(new["pairs_found"] / exact["pairs_found"], 3),
            "add_p50": round(times["minhash"]["p50"] / times["exact"]["p50"], 3),
            "add_p99": round(times["minhash"]["p99"] / times["exact"]["p99"], 3),
            "bytes_per_report": round(mem["minhash"]["bytes_per_report"] / mem["exact"]["bytes_per_report"], 3),
            "state_file_bytes_per_report": round(
                mem["minhash"]["state_file_bytes_per_report"] / mem["exact"]["state_file_bytes_per_report"], 3
            ),
            "refill_20k": round(mem["minhash"]["refill_s"] / mem["exact"]["refill_s"], 3),
        },
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
    }
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
