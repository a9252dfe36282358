"""The rule library's problems and its one error: every problem of a rule file at its ``line:col`` (a
:class:`Problem`), and :class:`RuleFileError`, which carries the errors as ``file:line:col: message`` lines."""

from __future__ import annotations

import difflib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal

from registry import ValidationError

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One problem of a rule file, at the 1-based ``line``/``column`` of the offending token.

    ============ =====================================================================================
    ``severity`` ``error`` (the file cannot be used) or ``warning`` (it can, but a linter would ask)
    ``message``  what is wrong, in words, without the ``file:line:col:`` prefix
    ``hint``     what to do, e.g. ``did you mean 'text'?``
    ``code``     a short stable id: ``yaml``, ``schema``, ``unknown-key``, ``unknown-field``, ``expression``,
                 ``duplicate-id``, ``unknown-rule``, ``unknown-group``, ``mixed-and-or``, ``never-fires``,
                 ``unknown-value``, ``shadowed``, ``threshold-out-of-range``
    ============ =====================================================================================
    """

    line: int
    column: int
    severity: Severity
    message: str
    hint: str | None = None
    code: str = ""

    def render(self, source: str) -> str:
        """``source:line:col: severity: message (hint)``, as a compiler prints it."""
        return f"{source}:{self.line}:{self.column}: {self.severity}: {self._text()}"

    def located(self, source: str) -> str:
        """``source:line:col: message (hint)``: an error as :class:`RuleFileError` lists it."""
        return f"{source}:{self.line}:{self.column}: {self._text()}"

    def _text(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message

    @property
    def position(self) -> tuple[int, int]:
        return self.line, self.column


class RuleFileError(ValidationError):
    """A rule file that cannot be used; ``problems`` lists every ``file:line:col: message`` and ``found`` the
    same errors as :class:`Problem` values (empty when the error did not come from a located check)."""

    def __init__(self, problems: list[str], found: Sequence[Problem] = ()) -> None:
        self.problems = problems
        self.found = tuple(found)
        super().__init__("\n".join(problems))

    @classmethod
    def of(cls, found: Sequence[Problem], source: str) -> RuleFileError:
        return cls([p.located(source) for p in found], found)


def did_you_mean(word: object, candidates: Collection[str]) -> str | None:
    """``did you mean 'text'?`` for the candidate nearest ``word`` (case aside), or None when none is near."""
    if not isinstance(word, str) or not word or len(word) > 200 or not candidates:
        return None
    folded = {c.casefold(): c for c in candidates}
    if word.casefold() in folded and folded[word.casefold()] != word:
        return f"did you mean {folded[word.casefold()]!r}?"
    near = difflib.get_close_matches(word.casefold(), list(folded), n=1, cutoff=0.6)
    return f"did you mean {folded[near[0]]!r}?" if near and folded[near[0]] != word else None
