"""The gateway on a two-node Ray cluster on this machine: replicas spread over both nodes, and the loss of the
worker node (every process of it SIGKILLed) costs no more than a bounded blip to clients of the Serve proxy; a
new node takes the replicas that were lost. The cluster runs in a driver process of its own
(tests/e2e/_multinode_gateway.py): this session may already have a Ray of its own."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import free_port

REPO = Path(__file__).resolve().parents[2]
#: clients must get answers again within this many seconds of the loss (measured: no failed request at all)
RECOVERY_BOUND_S = 30.0


@pytest.mark.slow
def test_the_gateway_spreads_over_nodes_and_survives_losing_a_worker(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tests.e2e._multinode_gateway", str(free_port()), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    report = json.loads(next(line for line in done.stdout.splitlines() if line.startswith("{")))
    print(json.dumps({k: v for k, v in report.items() if not k.startswith("placement")}, indent=1))
    head, worker, replacement = report["nodes"]["head"], report["nodes"]["worker"], report["nodes"]["replacement"]

    for deployment in ("gateway", "model-runner"):  # one replica on each node, before and after
        assert report["placement_before"][deployment] == sorted([head, worker]), report["placement_before"]
        assert report["placement_without_worker"][deployment] == [head], report["placement_without_worker"]
        assert report["placement_after"][deployment] == sorted([head, replacement]), report["placement_after"]
    assert list(report["direct_answers"].values()) == [[4.0, 4.0], [4.0, 4.0]]

    assert report["failures_before_kill"] == 0 and report["requests_before_kill"] > 0
    assert report["recovered_s"] <= RECOVERY_BOUND_S, report
    assert report["failures_after_kill"] <= 3, report  # at most the requests on a connection the kill cut
    assert report["successes_after_last_failure"] >= 50, report
