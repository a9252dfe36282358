"""The rule library's error: every problem of a rule file, each as ``file:line:col: message``."""

from __future__ import annotations

from registry import ValidationError


class RuleFileError(ValidationError):
    """A rule file that cannot be used; ``problems`` lists every ``file:line:col: message``."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))
