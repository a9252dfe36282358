"""Kinds, references and names: parsed strictly, with messages that say what to do."""

from __future__ import annotations

import pytest

from registry import AliasError, Kind, UnknownKind, parse_ref
from registry.refs import Ref


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("model", Kind.MODEL),
        ("Rules", Kind.RULE),
        (" knowledge", Kind.KNOWLEDGE),
        ("components", Kind.COMPONENT),
        (Kind.ALGORITHM, Kind.ALGORITHM),
    ],
)
def test_kind_parse_accepts_singular_and_plural(text: str, kind: Kind) -> None:
    assert Kind.parse(text) == kind


def test_unknown_kind_lists_the_five_libraries() -> None:
    with pytest.raises(UnknownKind, match=r"must be one of \{model, algorithm, rule, knowledge, component\}"):
        Kind.parse("dataset")


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        ("models:/event-classifier@champion", Ref("event-classifier", alias="champion")),
        ("models:/event-classifier/3", Ref("event-classifier", version=3)),
        ("pingdu规则@production", Ref("pingdu规则", alias="production")),
        ("forecaster", Ref("forecaster")),
    ],
)
def test_parse_ref(text: str, ref: Ref) -> None:
    assert parse_ref(text) == ref


@pytest.mark.parametrize("text", ["models:/x/0", "models:/x/abc", "a'b", "", "x@", "x:y"])
def test_bad_refs_are_invalid_assets(text: str) -> None:
    with pytest.raises(ValueError, match=r"not valid|positive integer"):
        parse_ref(text)


@pytest.mark.parametrize("alias", ["latest", "v3", "9lives", "has space"])
def test_reserved_or_malformed_aliases(alias: str) -> None:
    with pytest.raises(AliasError, match="not valid"):
        parse_ref(f"x@{alias}")


def test_errors_subclass_the_builtin_they_resemble() -> None:
    from registry import AssetNotFound, CitymindError

    error = AssetNotFound("Asset 'x' is not in the registry.", name="x")
    assert isinstance(error, KeyError) and isinstance(error, CitymindError)
    assert str(error) == "Asset 'x' is not in the registry." and error.name == "x"


def test_a_version_written_after_the_at_sign_says_how_to_write_it() -> None:
    with pytest.raises(AliasError) as caught:
        parse_ref("iris-clf@2")
    assert str(caught.value) == "'iris-clf@2': '@' takes an alias such as champion; version 2 is 'iris-clf/2'."
