"""The event store's contract, on SQLite (the embedded default) and on PostgreSQL (a throwaway Debian cluster):
recording, the outcome lifecycle, idempotency under concurrent writers, paging, overdue claims and retention."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

import events.records as events_records
from citymind.errors import Conflict, EventNotFound, InvalidTransition, ValidationError
from events.records import EventFilter, EventRecords, Outcome
from tests.conftest import free_port

NOW = time.time()


@pytest.fixture(scope="module")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from tests import _postgres

    reason = _postgres.unavailable_reason()
    if reason:
        if os.environ.get("CITYMIND_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"CITYMIND_REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(reason)
    cluster = _postgres.start(tmp_path_factory.mktemp("events-postgres"), free_port())
    with pytest.MonkeyPatch.context() as patch:  # the module's tests only: put back for the rest of the process
        patch.setenv("PGPASSFILE", str(cluster.pgpass))  # libpq reads the password from it: never in the URL
        try:
            yield cluster.uri
        finally:
            _postgres.stop(cluster)


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'events.db'}"
        return
    base = request.getfixturevalue("postgres_url")
    records = EventRecords(base)
    with records.engine.begin() as conn:  # each test starts from empty tables
        conn.execute(text("DELETE FROM outcomes"))
        conn.execute(text("DELETE FROM events"))
    records.close()
    yield base


@pytest.fixture
def records(url: str) -> Iterator[EventRecords]:
    store = EventRecords(url, reporter_key=b"k" * 32, retention_days=30)
    yield store
    store.close()


def event(id: str, at: float = NOW, **columns: object) -> dict[str, object]:
    return {"id": id, "kind": "report", "at": at, "text": "南村镇垃圾没人清理", "category": "市容环境",
            "lead": "市城市管理局", "area": "南村镇", "priority": "P3", "sla_s": 86400, "due_at": at + 86400,
            **columns}  # fmt: skip


def outcome(outcome_id: str, type: str, **fields: object) -> Outcome:
    return {"outcome_id": outcome_id, "type": type, "at": NOW, **fields}  # type: ignore[typeddict-item]


def test_a_record_is_kept_as_given_and_a_resent_report_keeps_the_first(records: EventRecords) -> None:
    reporter = records.reporter_hash("13812345678")
    assert reporter is not None and "13812345678" not in reporter and len(reporter) == 32
    assert reporter == records.reporter_hash("13812345678") != records.reporter_hash("13812345679")
    records.record([event("e1", reporter=reporter, assists=["市生态环境局"], rules_fired=["r1"])])
    records.record([event("e1", text="sent again")])
    got = records.get("e1")
    assert (got["text"], got["reporter"], got["assists"], got["rules_fired"]) == (
        "南村镇垃圾没人清理", reporter, ["市生态环境局"], ["r1"],
    )  # fmt: skip
    assert got["status"] == "open" and got["department"] == "市城市管理局" and got["timeline"] == []
    with pytest.raises(EventNotFound, match="no event 'nope'"):
        records.get("nope")


def test_concurrent_records_share_commits_each_visible_when_its_call_returns(url: str, records: EventRecords) -> None:
    reader = EventRecords(url, migrate=False)  # another connection pool: what a second replica would read

    def record(i: int) -> str:
        if (
            i % 25 == 7
        ):  # a caller whose row the store refuses: that caller fails, the others it shared a commit with not
            with pytest.raises(IntegrityError):
                records.record([event(f"bad{i}", kind=None)])
            return "refused"
        records.record([event(f"c{i}-a"), event(f"c{i}-b")])
        return "seen" if [reader.get(f"c{i}-{x}")["id"] for x in "ab"] == [f"c{i}-a", f"c{i}-b"] else "wrong"

    try:
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(record, range(200)))
        assert answers.count("seen") == 192 and answers.count("refused") == 8
        records.record([event(f"many{i}") for i in range(1200)] + [event("c1-a", text="sent again")])
        assert reader.count() == 384 + 1200 and reader.get("c1-a")["text"] == "南村镇垃圾没人清理"
    finally:
        reader.close()


def test_the_lifecycle_allows_what_the_table_says_and_names_the_rest(records: EventRecords) -> None:
    records.record([event("e1")])
    with pytest.raises(InvalidTransition) as refused:
        records.add_outcome("e1", outcome("o0", "closed", satisfaction="满意"))
    assert refused.value.allowed == ["accepted", "returned", "reassigned", "category_corrected"]
    steps = [
        outcome("o1", "returned", reason="不属于本单位职责"),
        outcome("o2", "reassigned", department="市住房和城乡建设局"),
        outcome("o3", "accepted"),
        outcome("o4", "category_corrected", category="住房建设"),
        outcome("o5", "resolved", reply="已清理"),
        outcome("o6", "closed", satisfaction="基本满意"),
        outcome("o7", "reopened"),
    ]
    for step in steps:
        got, applied = records.add_outcome("e1", step, by="dispatch-key")
        assert applied
    assert [t["type"] for t in got["timeline"]] == [s["type"] for s in steps]
    assert (got["status"], got["department"], got["category_final"], got["category"]) == (
        "reopened", "市住房和城乡建设局", "住房建设", "市容环境",
    )  # fmt: skip
    assert (got["returns"], got["reassigns"], got["corrected"], got["reopens"]) == (1, 1, 1, 1)
    assert got["satisfaction"] is None and got["timeline"][0]["by"] == "dispatch-key"
    with pytest.raises(ValidationError, match="needs 'department'"):
        records.add_outcome("e1", outcome("o8", "reassigned"))
    with pytest.raises(ValidationError, match="satisfaction must be one of"):
        records.add_outcome("e1", outcome("o9", "resolved")) and records.add_outcome(
            "e1", outcome("o10", "closed", satisfaction="还行")
        )


def test_a_retried_outcome_is_applied_once_even_from_many_writers_at_once(records: EventRecords) -> None:
    records.record([event("e1"), event("e2")])
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: records.add_outcome("e1", outcome("same", "accepted")), range(16)))
    assert sum(applied for _, applied in results) == 1
    assert [t["type"] for t in records.get("e1")["timeline"]] == ["accepted"]
    with pytest.raises(Conflict, match="already used for a 'accepted' outcome"):
        records.add_outcome("e1", outcome("same", "resolved"))

    def accept(i: int) -> str:  # different ids, one event: exactly one acceptance wins, the rest are refused
        try:
            return "applied" if records.add_outcome("e2", outcome(f"a{i}", "accepted"))[1] else "again"
        except InvalidTransition:
            return "refused"

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(accept, range(16)))
    assert answers.count("applied") == 1 and answers.count("refused") == 15


def test_paging_with_a_cursor_lists_every_match_once_newest_first(records: EventRecords) -> None:
    records.record([event(f"e{i:02d}", at=NOW - i * 60, area="南村镇" if i % 2 else "古岘镇") for i in range(25)])
    seen, cursor = [], None
    while True:
        page = records.page(EventFilter(area="南村镇"), limit=5, cursor=cursor)
        seen += [e["id"] for e in page["events"]]
        if not (cursor := page["next"]):
            break
    assert seen == [f"e{i:02d}" for i in range(25) if i % 2]
    since = records.page(EventFilter(since=NOW - 5 * 60 - 1), limit=100)["events"]
    assert [e["id"] for e in since] == ["e00", "e01", "e02", "e03", "e04", "e05"]
    with pytest.raises(ValidationError, match="cursor"):
        records.page(EventFilter(), cursor="not-a-cursor")


def test_overdue_events_are_listed_and_claimed_once_across_writers(url: str, records: EventRecords) -> None:
    records.record([
        event("late", at=NOW - 2 * 86400),  # past its SLA
        event("unaccepted", escalate_at=NOW - 60),  # past escalate_after, not accepted
        event("accepted-in-time", escalate_at=NOW - 60, accepted_at=NOW - 120),
        event("on-time"),
        event("resolved-late", at=NOW - 2 * 86400, status="resolved"),
    ])  # fmt: skip
    overdue = {e["id"] for e in records.page(EventFilter(overdue=True), now=NOW)["events"]}
    assert overdue == {"late", "unaccepted"}
    other = EventRecords(url, reporter_key=b"k" * 32)  # a second replica's store
    with ThreadPoolExecutor(2) as pool:
        claims = list(pool.map(lambda store: store.claim_overdue(NOW), [records, other]))
    assert sorted(e["id"] for claim in claims for e in claim) == ["late", "unaccepted"]
    assert records.claim_overdue(NOW) == [] and other.claim_overdue(NOW + 1) == []
    other.close()


def test_retention_purges_old_events_and_their_outcomes(records: EventRecords) -> None:
    records.record([event("old", at=NOW - 31 * 86400), event("new")])
    records.add_outcome("old", outcome("o1", "accepted"))
    assert records.purge(NOW) == 1 and records.count() == 1
    with pytest.raises(EventNotFound):
        records.get("old")


def test_migrations_run_again_safely_beside_mlflows_own_revision_table(url: str) -> None:
    first = EventRecords(url)
    with first.engine.begin() as conn:  # a database MLflow also migrates: its alembic_version is not ours
        conn.execute(text("CREATE TABLE IF NOT EXISTS alembic_version (version_num VARCHAR(32) NOT NULL)"))
        conn.execute(text("INSERT INTO alembic_version VALUES ('some-mlflow-revision')"))
    assert first.migrate() == first.migrate() == "0002"
    done = threading.Barrier(3)
    with ThreadPoolExecutor(3) as pool:  # replicas starting together each migrate
        revisions = list(pool.map(lambda _: (done.wait(), EventRecords(url).status()["schema"])[1], range(3)))
    assert revisions == ["0002"] * 3
    with first.engine.begin() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "some-mlflow-revision"
        conn.execute(text("DROP TABLE alembic_version"))
    first.close()


def test_a_store_made_at_the_first_revision_is_upgraded_keeping_its_records(url: str) -> None:
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import inspect

    old = EventRecords(url, migrate=False)
    config = Config()
    config.set_main_option("script_location", str(Path(events_records.__file__).parent / "migrations"))
    with old.engine.begin() as conn:
        config.attributes["connection"] = conn
        if inspect(conn).has_table("events"):  # PostgreSQL's, migrated by the fixture: from nothing again
            command.downgrade(config, "base")
        command.upgrade(config, "0001")
    old.record([event("kept", reporter="h1")])
    old.close()
    upgraded = EventRecords(url)
    with upgraded.engine.connect() as conn:
        indexes = {i["name"] for i in inspect(conn).get_indexes("events")}
    assert "ix_events_reporter_at" not in indexes and "ix_events_at" in indexes
    assert upgraded.status()["schema"] == "0002" and upgraded.get("kept")["reporter"] == "h1"
    upgraded.close()


def test_the_recent_reports_come_back_from_the_store_not_the_state_file(
    url: str, records: EventRecords, tmp_path: Path
) -> None:
    import json

    from events.state import EventState

    text_ = "南村镇幸福小区门口垃圾堆放很久没人清理"
    records.record([event(f"e{i}", at=NOW - 60 + i, report_id=f"r{i}", text=text_, reporter="h1") for i in range(3)])
    records.record([event("old", at=NOW - 4 * 86400, report_id="r-old", text=text_)])  # outside the 72 h window
    state = EventState(tmp_path / "state.json", events_url=url)
    assert len(state.recent) == 3
    [seen] = state.add_many([("r9", text_ + "了", "市容环境", "南村镇", "h1", NOW)])
    assert {(d["id"], d["event_id"]) for d in seen.duplicates} == {("r0", "e0"), ("r1", "e1"), ("r2", "e2")}
    assert seen.reporter_count == 4
    state.close()
    assert json.loads((tmp_path / "state.json").read_text())["recent"] == []  # the store keeps them


def test_the_self_watch_counts_group_in_the_database_alike_on_both(records: EventRecords) -> None:
    from events.records.aggregates import answer_counts, busiest_pairs, first_report_at, hourly_counts

    hour = 1_767_225_600.0  # an hour boundary
    rows = [event(f"a{i}", at=hour + 3599.9 * (i % 2) + 3600 * (i // 2), confidence=0.05 + 0.1 * i,
                  model="event-classifier", model_version="2") for i in range(6)]  # fmt: skip
    rows += [event("b1", at=hour + 10, area="东阁街道", category="道路交通", confidence=1.0, model="m",
                   model_version="1"), event("w1", at=hour, kind="warning"),
             event("x1", at=hour, area=None)]  # fmt: skip
    records.record(rows)
    since, until = hour - 3600, hour + 10 * 3600
    assert first_report_at(records.engine, since, until) == hour
    assert busiest_pairs(records.engine, since, until, 5) == [("南村镇", "市容环境", 6), ("东阁街道", "道路交通", 1)]
    assert busiest_pairs(records.engine, since, until, 1, category="道路交通") == [("东阁街道", "道路交通", 1)]
    h0 = int(hour // 3600)  # x1 has no area, w1 is no report; 3599.9 s is still the hour it started in
    assert hourly_counts(records.engine, since, until, [("南村镇", "市容环境")]) == {
        ("南村镇", "市容环境"): {h0: 2, h0 + 1: 2, h0 + 2: 2}
    }
    counts = answer_counts(records.engine, since, until, [k / 10 for k in range(11)])
    assert counts[("event-classifier", "2")] == ({"市容环境": 6}, [1, 1, 1, 1, 1, 1, 0, 0, 0, 0])
    assert counts[("m", "1")] == ({"道路交通": 1}, [0] * 9 + [1])
