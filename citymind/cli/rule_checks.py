"""What ``citymind rules validate`` reports of one rule file: every error and warning of it and of the tests beside
it (:func:`rules.check_rules`, :func:`rules.check_tests`), as plain data for the lines or the JSON it prints."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rules import Problem, check_rules, check_tests
from rules.loader import MAX_FILE_BYTES, RuleFileError, load_rules, tests_beside


def validate_file(path: Path, rows: Sequence[Mapping[str, object]] | None) -> dict[str, Any]:
    """The file's problems (and those of its tests beside it), counted, and its rules and tests when it loads."""
    text, found = _text(path)
    problems = [(str(path), p) for p in found] or [(str(path), p) for p in check_rules(text, str(path), rows=rows)]
    beside = tests_beside(path)
    if not found and beside.is_file():
        tests_text, tests_found = _text(beside)
        problems += [(str(beside), p) for p in tests_found or check_tests(tests_text, text)]
    errors = sum(p.severity == "error" for _, p in problems)
    rules = tests = 0
    if not errors:
        try:
            ruleset = load_rules(path)
            rules, tests = len(ruleset.rules), len(ruleset.tests)
        except RuleFileError as exc:  # the checks and the loader disagree: say so rather than pass the file
            problems += [(str(path), Problem(1, 1, "error", line)) for line in exc.problems]
            errors += len(exc.problems)
    return {
        "file": str(path),
        "rules": rules,
        "tests": tests,
        "errors": errors,
        "warnings": len(problems) - errors,
        "problems": [_as_dict(source, p) for source, p in problems],
    }


def _as_dict(source: str, problem: Problem) -> dict[str, Any]:
    return {
        "file": source,
        "line": problem.line,
        "column": problem.column,
        "severity": problem.severity,
        "code": problem.code,
        "message": problem.message,
        "hint": problem.hint,
    }


def _text(path: Path) -> tuple[str, list[Problem]]:
    """The file as text, or the problem that stops it being read (too large, not UTF-8, missing)."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return "", [
                Problem(1, 1, "error", f"the file is larger than {MAX_FILE_BYTES} bytes; split it", code="yaml")
            ]
        raw = path.read_bytes()
    except OSError as exc:
        return "", [Problem(1, 1, "error", f"cannot read the file: {exc.strerror or exc}", code="yaml")]
    try:
        return raw.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        before = raw[: exc.start].decode("utf-8", errors="replace")
        line, col = before.count("\n") + 1, len(before) - before.rfind("\n")
        return "", [
            Problem(line, col, "error", f"the file is not UTF-8 text (byte {raw[exc.start]:#04x})", code="yaml")
        ]
