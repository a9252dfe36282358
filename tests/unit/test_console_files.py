"""The console's files: every word the page shows is in each language file, the files have the same keys, and
every file the page loads is one the gateway serves (and lists)."""

from __future__ import annotations

import json
import re
from importlib import resources

import pytest

from serving.routes_console import FILES

CONSOLE = resources.files("serving") / "console"
#: keys made at run time from a prefix and a value the API answers with
MADE = {
    "nav.": ["overview", "libraries", "rules", "triage", "knowledge", "events"],
    "kind.": ["model", "algorithm", "rule", "knowledge", "component", "dataset", "run", "service"],
    "role.": ["consumer", "data_scientist", "rule_author", "dispatcher", "admin"],
    "arm.": ["champion", "challenger"],
    "severity.": ["error", "warning"],
    "status.": ["open", "accepted", "returned", "resolved", "closed", "reopened"],
    "measure.": ["first_time_right", "category_accuracy", "sla_compliance", "satisfaction", "reopen_rate"],
    "events.by.": ["department", "area", "category", "model", "rules"],
    "edge.": ["trained_on", "made_by", "fitted_with", "derived_from", "served_by"],
}


def words(lang: str) -> dict[str, str]:
    return dict(json.loads((CONSOLE / f"{lang}.json").read_text(encoding="utf-8")))


def used_keys() -> set[str]:
    script = (CONSOLE / "console.js").read_text(encoding="utf-8")
    page = (CONSOLE / "index.html").read_text(encoding="utf-8")
    keys = set(re.findall(r"""\bt\("([a-z_.0-9]+)"[,)]""", script))
    keys |= set(re.findall(r'data-i18n(?:-label)?="([^"]+)"', page))
    keys |= {prefix + value for prefix, values in MADE.items() for value in values}
    return keys


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_every_word_the_page_shows_is_in_the_language_file(lang: str) -> None:
    have = words(lang)
    missing = sorted(used_keys() - set(have))
    assert missing == [], missing
    assert all(isinstance(v, str) and v.strip() for v in have.values())


def test_the_language_files_have_the_same_keys_and_chinese_comes_first() -> None:
    zh, en = words("zh-CN"), words("en")
    assert set(zh) == set(en)
    assert re.search(r"[\u4e00-\u9fff]", zh["title"]) and 'lang="zh-CN"' in (CONSOLE / "index.html").read_text()


def test_the_page_loads_only_files_the_gateway_serves() -> None:
    page = (CONSOLE / "index.html").read_text(encoding="utf-8")
    loaded = re.findall(r'(?:src|href)="(/[^"#]+)"', page)
    assert loaded and all(p.startswith("/console/static/") for p in loaded), loaded
    assert {p.rsplit("/", 1)[1] for p in loaded} <= set(FILES)
    assert all((CONSOLE / name).is_file() for name in FILES)
    script = (CONSOLE / "console.js").read_text(encoding="utf-8")
    assert "http://" not in script.replace("http://www.w3.org/2000/svg", "") and "https://" not in script
