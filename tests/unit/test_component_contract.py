"""One contract over every installed component (found through the ``citymind.components`` entry points): schemas
hold on its examples, a batch equals the map of single calls, the input is never changed, the spec round-trips,
bad input is refused with a message naming the component."""

from __future__ import annotations

import copy
import json
from typing import Any

import numpy as np
import pytest

from models.components.base import Component, available_components, check_record, component_from_spec
from registry import ValidationError

COMPONENTS = available_components()


def jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


def same(a: Any, b: Any) -> bool:
    return json.dumps(jsonable(a), sort_keys=True, default=str) == json.dumps(jsonable(b), sort_keys=True, default=str)


def test_the_five_city_components_are_installed() -> None:
    assert {"text.normalize", "privacy.mask", "geo.resolve_area", "image.decode", "series.resample"} <= set(COMPONENTS)


@pytest.fixture(params=sorted(COMPONENTS), scope="module")
def component(request: pytest.FixtureRequest) -> Component:
    made = COMPONENTS[request.param]()
    assert made.name == request.param
    return made


def test_examples_satisfy_both_schemas(component: Component) -> None:
    assert component.examples, f"{component.name} has no examples"
    for example in component.examples:
        check_record(component.name, component.input_schema, example)
        out = component(example)
        check_record(component.name, component.output_schema, jsonable(out))
        assert set(component.output_schema.get("required", [])) <= set(out)
        assert set(example) <= set(out)  # fields it did not touch pass through


def test_batch_equals_the_map_of_single_calls(component: Component) -> None:
    assert same(component.batch(component.examples), [component(e) for e in component.examples])


def test_the_input_is_never_changed(component: Component) -> None:
    examples = copy.deepcopy(component.examples)
    component.batch(examples)
    component(examples[0])
    assert same(examples, component.examples)


def test_the_spec_round_trips_without_code(component: Component) -> None:
    spec = json.loads(json.dumps(component.to_spec()))
    again = component_from_spec(spec)
    assert type(again) is type(component) and again.get_params() == component.get_params()
    assert same(again(component.examples[0]), component(component.examples[0]))
    json.dumps(component.describe(), ensure_ascii=False)


def test_bad_input_is_refused_naming_the_component(component: Component) -> None:
    with pytest.raises(ValidationError, match=f"^{component.name}: record field"):
        component({"nothing": "useful"} if component.input_schema.get("required") else 42)


def test_unknown_components_and_parameters_are_refused() -> None:
    from registry import InvalidAsset

    with pytest.raises(InvalidAsset, match=r"Did you mean 'text\.normalize'"):
        component_from_spec({"format": "citymind.component/1", "component": "text.normalise"})
    with pytest.raises(InvalidAsset, match=r"has no parameters \['colour'\]; it takes \['style'\]"):
        component_from_spec({"format": "citymind.component/1", "component": "privacy.mask", "params": {"colour": 1}})
