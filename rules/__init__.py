"""citymind rules library: YAML rules with safe compiled conditions; :func:`check_rules` finds every problem of a
rule file (errors and a linter's warnings) at its line:col."""

from rules.checks import Problem, check_rules, check_tests

__all__ = ["Problem", "check_rules", "check_tests"]
