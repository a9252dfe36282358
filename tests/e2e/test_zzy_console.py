"""The console in a real browser (Debian's Chromium, driven by Playwright) against the real Ray Serve gateway: sign
in with a key, every view rendered with nothing reachable but the gateway, the rule author's flow end to end
(error at line:col → fixed → tests pass → published → served → fired in the playground → rolled back), a consumer
without edit controls (and refused by the API anyway), the lineage of the defaults, labels and keyboard.

Runs after the other end-to-end tests (it makes the keys that switch the shared gateway to keyed access, as
test_zzz_hostile.py does after it). Screenshots go to ``CITYMIND_CONSOLE_SHOTS`` (docs/console/ when they are
refreshed for the README) or the test's temporary folder."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

CHROMIUM = "/usr/bin/chromium"
VIEWS = {  # view → what it shows once its data is in
    "overview": "#overview-body table",
    "libraries": "svg#lineage g.node",
    "rules": "#problem-list li",
    "triage": "#triage-form",
    "knowledge": "#neighbourhood svg#graph g.node.center",
    "events": "#overdue",
}
NEW_RULE = """      - id: console-night-noise
        title: 控制台发布的夜间噪音规则
        when: contains(text, '控制台夜间噪音')
        then: {priority: P2, sla: 4h}
"""


def _browser_or_skip() -> Any:
    reason = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = "playwright is not installed (pip install -e '.[dev]')"
    if reason is None and not Path(CHROMIUM).exists():
        reason = f"{CHROMIUM} is missing (.ci/install_browser.sh installs Debian's chromium)"
    if reason:
        if os.environ.get("CITYMIND_REQUIRE_BROWSER") == "1":
            pytest.fail(f"CITYMIND_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    return sync_playwright


@pytest.fixture(scope="module")
def gateway(proxy: str) -> str:
    """The Serve proxy: test_zz_fault_replica.py, before this file, restarted the first replica on another port."""
    return proxy


@pytest.fixture(scope="module")
def keys(gateway: str, gateway_home: Path) -> dict[str, str]:
    """A key per role, in the keys file the gateway re-reads (from then on it asks every caller for one)."""
    from citymind.access import KeyStore

    store = KeyStore(gateway_home / "keys.json")
    made = {role: store.create(f"console-{role}", role)[1] for role in ("consumer", "rule_author", "admin")}
    deadline = time.monotonic() + 30
    while httpx.get(f"{gateway}/v1/whoami", timeout=10).status_code != 401:
        assert time.monotonic() < deadline, "the gateway did not start asking for keys"
        time.sleep(0.2)
    return made


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_playwright = _browser_or_skip()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("CITYMIND_CONSOLE_SHOTS") or tmp_path_factory.mktemp("console-shots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Session:
    """A signed-in page; every request to a host other than the gateway is refused and remembered."""

    def __init__(self, browser: Any, gateway: str, key: str) -> None:
        self.gateway, self.outside, self.errors = gateway, [], []
        self.context = browser.new_context(viewport={"width": 1360, "height": 900}, locale="zh-CN")
        self.context.route("**/*", self._only_the_gateway)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("requestfailed", lambda r: self.errors.append(f"{r.method} {r.url}: {r.failure}"))
        self.page.goto(f"{gateway}/console")
        self.page.fill("#key", key)
        self.page.click("#signin-form button[type=submit]")
        self.page.wait_for_selector("#view-title")

    def _only_the_gateway(self, route: Any) -> None:
        if route.request.url.startswith(self.gateway):
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort("internetdisconnected")

    def open(self, view: str) -> Any:
        self.page.goto(f"{self.gateway}/console#{view}")
        self.page.wait_for_selector(f'#view[data-view="{view.split("/")[0]}"]')
        return self.page

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def author(browser: Any, gateway: str, keys: dict[str, str]) -> Iterator[Session]:
    session = Session(browser, gateway, keys["rule_author"])
    yield session
    session.close()


@pytest.fixture
def consumer(browser: Any, gateway: str, keys: dict[str, str]) -> Iterator[Session]:
    session = Session(browser, gateway, keys["consumer"])
    yield session
    session.close()


def test_a_wrong_key_is_refused_and_the_sign_in_says_so(browser: Any, gateway: str, keys: dict[str, str]) -> None:
    from playwright.sync_api import expect

    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{gateway}/console")
    page.fill("#key", "cm_00000000_not-a-key")
    page.click("#signin-form button[type=submit]")
    expect(page.locator("#signin-error")).to_contain_text("密钥无效")
    assert page.is_hidden("#view")
    context.close()


@pytest.mark.parametrize(("page_path", "rendered"), [("/docs", ".swagger-ui .info .title"), ("/redoc", "h1")])
def test_the_api_docs_render_with_nothing_but_the_gateway_reachable(
    browser: Any, gateway: str, page_path: str, rendered: str
) -> None:
    """Redoc's bundle points an image at cdn.redoc.ly: the pages' Content-Security-Policy keeps the browser from
    asking for it (a city intranet has no CDN, and a page must not reach out of it)."""
    context = browser.new_context()
    outside: list[str] = []
    context.route(
        "**/*",
        lambda route: route.continue_()
        if route.request.url.startswith(gateway)
        else (outside.append(route.request.url), route.abort("internetdisconnected")),
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{gateway}{page_path}")
    page.wait_for_selector(rendered, timeout=30_000)
    assert "citymind gateway" in page.inner_text(rendered)
    page.wait_for_load_state("networkidle")
    assert (outside, errors) == ([], [])
    context.close()


def test_every_view_renders_with_nothing_but_the_gateway_reachable(author: Session, shots: Path) -> None:
    for view, ready in VIEWS.items():
        page = author.open(view)
        page.wait_for_selector(ready, timeout=30_000)
        assert page.inner_text("#view-title"), view
        assert not page.query_selector("#view p.error"), (view, page.inner_text("#view"), author.errors)
        page.screenshot(path=str(shots / f"{view}.png"), full_page=True)
    assert author.outside == [] and author.errors == []


def test_the_rule_flow_end_to_end(author: Session, gateway: str, keys: dict[str, str], shots: Path) -> None:
    page = author.open("rules")
    page.wait_for_selector("#no-problems", timeout=30_000)
    production = page.input_value("#rule-text")
    served_before = _served(gateway, keys)

    # an error: a misspelt field, reported at its line:col as one types
    broken = production.replace("when: confidence < 0.5", "when: confidance < 0.5", 1)
    line, column = _position(broken, "confidance < 0.5")
    page.fill("#rule-text", broken)
    page.wait_for_selector("#problem-list li.error", timeout=15_000)
    problems = page.inner_text("#problem-list")
    assert f"{line}:{column}" in problems and "confidance" in problems, problems
    page.click("#problem-list li.error button")  # the editor goes to the problem
    page.screenshot(path=str(shots / "rules-problem.png"), full_page=False)

    # fixed, with a new rule: clean, its tests pass, the diff shows the new lines
    edited = production.replace("    tests:\n", NEW_RULE + "    tests:\n", 1)
    assert edited != production
    page.fill("#rule-text", edited)
    page.wait_for_selector("#no-problems", timeout=15_000)
    page.click("#run-tests")
    page.wait_for_selector("#test-summary.ok", timeout=30_000)
    page.click("#show-diff")
    page.wait_for_selector("#diff-summary")
    assert "console-night-noise" in page.inner_text("pre.diff")

    # published, then served by the gateway within its refresh interval, and the page says so
    page.click("#publish")
    page.wait_for_selector("#publish-result", timeout=60_000)
    published = int(re.search(r"v(\d+)", page.inner_text("#publish-result"))[1])  # type: ignore[index]
    assert published > served_before
    page.wait_for_selector(f'#served[data-served="{published}"]', timeout=60_000)

    # the playground's triage shows the new rule fired, with the version that fired it
    page = author.open("triage")
    page.fill("#triage-text", "东阁街道某小区控制台夜间噪音扰民，楼下烧烤店营业到凌晨两点")
    page.click("#triage-form button[type=submit]")
    page.wait_for_selector("#triage-versions", timeout=30_000)
    answer = page.inner_text("#triage-answer")
    assert "console-night-noise" in answer and f"pingdu-rules v{published}" in answer, answer
    page.screenshot(path=str(shots / "triage-new-rule.png"), full_page=True)

    # rolled back from the page: the gateway serves the version before again
    page = author.open("rules")
    page.wait_for_selector("#rollback")
    page.click("#rollback")
    page.wait_for_selector(f'#served[data-served="{served_before}"]', timeout=60_000)
    assert author.outside == [] and author.errors == []


def test_the_editor_shows_every_problem_of_the_issue_file_at_once(author: Session) -> None:
    """The new rule author's file (two misspelt fields, a bad priority, and/or unparenthesised): all four in one
    check, each at its line:col, with "did you mean" — what ``citymind rules validate`` prints for it."""
    from tests.unit.test_rule_checks import ISSUE

    page = author.open("rules")
    page.wait_for_selector("#no-problems", timeout=30_000)
    page.fill("#rule-text", ISSUE)
    page.wait_for_selector("#problem-list li.error:nth-child(4)", timeout=15_000)  # CSP: no wait_for_function
    items = page.eval_on_selector_all("#problem-list li", "items => items.map(li => li.innerText)")
    assert [item.split()[0] for item in items] == ["7:49", "10:24", "11:26", "13:16"], items
    assert "did you mean 'text'?" in items[1] and "did you mean 'confidence'?" in items[3], items
    assert page.query_selector_all("#problem-list li.warning") and not page.query_selector("#no-problems")


def test_a_consumer_sees_no_edit_control_and_the_api_refuses_it_anyway(
    consumer: Session, gateway: str, keys: dict[str, str]
) -> None:
    page = consumer.open("rules")
    page.wait_for_selector("#read-only")
    for control in ("#publish", "#rollback", "#run-tests", "#run-backtest"):
        assert page.query_selector(control) is None, control
    assert page.get_attribute("#rule-text", "readonly") is not None
    page = consumer.open("libraries/rule/pingdu-rules")
    page.wait_for_selector("#versions table")
    assert page.query_selector("#versions button") is None  # no alias moves, no rollback
    headers = {"X-API-Key": keys["consumer"]}
    text = httpx.get(f"{gateway}/v1/rules/pingdu-rules/source", headers=headers, timeout=30).json()["text"]
    refused = [
        httpx.post(f"{gateway}/v1/rules/pingdu-rules/versions", json={"text": text}, headers=headers, timeout=30),
        httpx.post(
            f"{gateway}/v1/registry/rule/pingdu-rules/aliases/production",
            json={"version": 1},
            headers=headers,
            timeout=30,
        ),
        httpx.post(f"{gateway}/v1/registry/rule/pingdu-rules/aliases/production/rollback", headers=headers, timeout=30),
        httpx.post(f"{gateway}/v1/rules/test", json={"text": text}, headers=headers, timeout=30),
    ]
    assert [r.status_code for r in refused] == [403] * 4, [r.text for r in refused]
    assert "consumer" in refused[0].json()["error"]


def test_the_lineage_graph_shows_the_default_assets(author: Session) -> None:
    page = author.open("libraries")
    page.wait_for_selector("svg#lineage g.node")
    ids = page.eval_on_selector_all("svg#lineage g.node", "nodes => nodes.map(n => n.dataset.id)")
    assert "service:event engine" in ids and "algorithm:char-ngram-linear/1" in ids, ids
    for prefix in ("model:event-classifier/", "knowledge:pingdu-knowledge/", "rule:pingdu-rules/", "dataset:"):
        assert any(i.startswith(prefix) for i in ids), (prefix, ids)  # earlier tests register later versions
    edges = page.eval_on_selector_all("svg#lineage path.edge", "edges => edges.length")
    assert edges >= 5


def test_every_input_has_a_label_and_the_views_are_reached_by_keyboard(author: Session) -> None:
    unlabelled = (
        "els => els.filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.outerHTML)"
    )
    for view in VIEWS:
        page = author.open(view)
        page.wait_for_selector(VIEWS[view], timeout=30_000)
        missing = page.eval_on_selector_all("#view input, #view select, #view textarea", unlabelled)
        assert missing == [], (view, missing)
    page = author.open("overview")
    page.focus("#nav-overview")
    for _ in range(2):
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "nav-rules"
    page.keyboard.press("Enter")
    page.wait_for_selector("#rule-text")
    page.focus("#rule-text")  # the cursor after the first group's "rules:", then typed as an author would
    page.evaluate("""() => { const a = document.querySelector('#rule-text');
        const at = a.value.indexOf('    rules:\\n') + 11; a.setSelectionRange(at, at); }""")
    page.keyboard.type("      - id: typed\n        wh")
    page.wait_for_selector("#completion:not([hidden]) li")
    assert page.inner_text("#completion").strip() == "when:"
    page.keyboard.press("Enter")
    assert "      - id: typed\n        when: " in page.input_value("#rule-text")


def test_the_events_view_pages_through_ten_thousand_overdue_events(
    author: Session, gateway_home: Path, shots: Path
) -> None:
    from playwright.sync_api import expect

    from events.records import EventRecords, new_event_id

    records = EventRecords(f"sqlite:///{gateway_home / 'events.db'}")
    now = time.time()
    try:
        rows = [{"id": new_event_id(), "kind": "report", "at": now - 86400 - i, "channel": "12345", "area": "南村镇",
                 "text": f"第{i}件超期诉求", "category": "噪声污染", "lead": "市城市管理局", "priority": "P3",
                 "sla_s": 86400, "due_at": now - i - 1} for i in range(10_000)]  # fmt: skip
        for start in range(0, len(rows), 1000):
            records.record(rows[start : start + 1000])
    finally:
        records.close()
    page = author.open("events")
    page.wait_for_selector("#overdue table tbody tr", timeout=30_000)
    first = page.eval_on_selector_all("#overdue tbody tr", "rows => rows.map(r => r.cells[0].textContent)")
    assert len(first) == 20
    page.screenshot(path=str(shots / "events.png"), full_page=False)  # the README's: with events in it
    page.click("#overdue .pager button")
    expect(page.locator("#overdue tbody tr td").first).not_to_have_text(first[0])
    second = page.eval_on_selector_all("#overdue tbody tr", "rows => rows.map(r => r.cells[0].textContent)")
    assert len(second) == 20 and not set(first) & set(second)


def _served(gateway: str, keys: dict[str, str]) -> int:
    answer = httpx.get(f"{gateway}/v1/rules/pingdu-rules/source", headers={"X-API-Key": keys["admin"]}, timeout=30)
    return int(answer.json()["served"])


def _position(text: str, needle: str) -> tuple[int, int]:
    offset = text.index(needle)
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def test_screenshots_are_kept_for_the_readme(shots: Path) -> None:
    """docs/console/ holds the committed copies (refreshed with CITYMIND_CONSOLE_SHOTS=docs/console)."""
    made = sorted(p.name for p in shots.glob("*.png"))
    assert set(VIEWS) <= {name.removesuffix(".png") for name in made}, made
    assert all((shots / name).stat().st_size > 10_000 for name in made)
