"""LightGBM boosters as one ONNX ``TreeEnsembleRegressor`` (``ai.onnx.ml``): one booster per hour ahead, each
tree writing to its hour's column, so 24 direct models are one node. Thresholds and leaf values are kept as
double tensors: the graph splits exactly where LightGBM does (onnxmltools' converter rounds thresholds to
float32, which moves a split whenever a feature falls between the two)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

ML_DOMAIN, ML_OPSET = "ai.onnx.ml", 3


@dataclass
class _Nodes:
    """The flat attribute lists of a TreeEnsembleRegressor."""

    tree: list[int] = field(default_factory=list)
    node: list[int] = field(default_factory=list)
    feature: list[int] = field(default_factory=list)
    mode: list[str] = field(default_factory=list)
    value: list[float] = field(default_factory=list)
    true: list[int] = field(default_factory=list)
    false: list[int] = field(default_factory=list)
    leaf_tree: list[int] = field(default_factory=list)
    leaf_node: list[int] = field(default_factory=list)
    leaf_target: list[int] = field(default_factory=list)
    leaf_weight: list[float] = field(default_factory=list)

    def add_tree(self, tree_id: int, root: dict[str, Any], target: int) -> None:
        """Nodes numbered depth-first from 0; a LightGBM split ``x <= threshold`` goes left (the true branch)."""
        counter = iter(range(1 << 30))

        def visit(node: dict[str, Any]) -> int:
            number = next(counter)
            index = len(self.tree)
            self.tree.append(tree_id)
            self.node.append(number)
            if "leaf_value" in node:
                self.feature.append(0)
                self.mode.append("LEAF")
                self.value.append(0.0)
                self.true.append(0)
                self.false.append(0)
                self.leaf_tree.append(tree_id)
                self.leaf_node.append(number)
                self.leaf_target.append(target)
                self.leaf_weight.append(float(node["leaf_value"]))
                return number
            if node.get("decision_type", "<=") != "<=":
                raise ValueError(f"only numerical '<=' splits convert; got {node.get('decision_type')!r}")
            self.feature.append(int(node["split_feature"]))
            self.mode.append("BRANCH_LEQ")
            self.value.append(float(node["threshold"]))
            self.true.append(0)
            self.false.append(0)
            self.true[index] = visit(node["left_child"])
            self.false[index] = visit(node["right_child"])
            return number

        visit(root)


def tree_ensemble_node(boosters: list[Any], features: str, output: str) -> Any:
    """A node computing ``(N, len(boosters))`` from ``features``: column ``h`` is ``boosters[h]``'s prediction."""
    from onnx import helper, numpy_helper

    nodes, tree_id = _Nodes(), 0
    for target, booster in enumerate(boosters):
        for info in booster.dump_model()["tree_info"]:
            nodes.add_tree(tree_id, info["tree_structure"], target)
            tree_id += 1
    return helper.make_node(
        "TreeEnsembleRegressor",
        [features],
        [output],
        domain=ML_DOMAIN,
        nodes_treeids=nodes.tree,
        nodes_nodeids=nodes.node,
        nodes_featureids=nodes.feature,
        nodes_modes=nodes.mode,
        nodes_values_as_tensor=numpy_helper.from_array(np.asarray(nodes.value, np.float64), "nodes_values"),
        nodes_truenodeids=nodes.true,
        nodes_falsenodeids=nodes.false,
        target_treeids=nodes.leaf_tree,
        target_nodeids=nodes.leaf_node,
        target_ids=nodes.leaf_target,
        target_weights_as_tensor=numpy_helper.from_array(np.asarray(nodes.leaf_weight, np.float64), "target_weights"),
        n_targets=len(boosters),
        aggregate_function="SUM",
        post_transform="NONE",
    )
