"""Similar cases on real messages and their official replies: the default hybrid index finds a message's own
reply among all 120 from the message title (the reply view: the title itself is indexed in the message view)."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge_graph.cases import Case, squeeze
from knowledge_graph.retrieval import CaseIndex

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


def recall(index: CaseIndex, cases: list[Case], views: list[str] | None) -> tuple[float, float]:
    ranks = []
    for case in cases:
        hits = [h.case.id for h in index.search(case.title, 5, views=views)]
        ranks.append(hits.index(case.id) if case.id in hits else 5)
    return sum(r < 1 for r in ranks) / len(ranks), sum(r < 5 for r in ranks) / len(ranks)


def test_title_finds_its_own_reply(shared_data: Path, tmp_path: Path) -> None:
    import pandas as pd

    frame = pd.read_csv(shared_data / "complaints" / "tipdm2020_messages_with_replies_sample.csv")
    cases = [
        Case(str(i), t, squeeze(b), r)
        for i, (t, b, r) in enumerate(
            zip(frame["留言主题"].tolist(), frame["留言详情"].tolist(), frame["答复意见"].tolist(), strict=True)
        )
    ]
    index = CaseIndex().fit(cases)
    r1, r5 = recall(index, cases, ["reply"])
    print(f"\nreplies sample: title → own reply R@1 {r1:.3f} R@5 {r5:.3f} (e5-int8 + char TF-IDF hybrid, reply view)")
    assert len(cases) == 120 and r5 >= 0.85
    both = recall(index, cases, None)
    print(f"both views: R@1 {both[0]:.3f} R@5 {both[1]:.3f} (the title is inside its indexed message)")
    assert both[1] == 1.0

    loaded = CaseIndex.load(index.save(tmp_path / "cases"))
    for case in cases[:10]:
        assert [h.case.id for h in loaded.search(case.title, 5)] == [h.case.id for h in index.search(case.title, 5)]
        assert loaded.similar_cases(case.text[:60], 1)[0].case.reply == case.reply  # report → its own reply
