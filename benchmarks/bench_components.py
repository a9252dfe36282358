"""Per-record latency of every component and of the default pipeline (report-intake: normalize → mask → resolve
area → event classifier), in process and through the gateway (Ray Serve on 127.0.0.1, the ingress fast path), in
one run; plus the privacy mask's precision/recall on the generated PII corpus. Prints JSON; each gateway figure
carries its ratio to the in-process baseline.

Run: ``make bench`` or ``.venv/bin/python benchmarks/bench_components.py [--records 2000]``"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._http_load import measure
from models.components.base import Component, available_components
from tests.conftest import free_port

REPORT = {"text": "李園街道杭州路小區門口垃圾堆放一周沒人清理，聯系電話13812345678"}


def in_process(component: Component, record: dict[str, Any], n: int) -> dict[str, float]:
    for _ in range(min(n, 200)):
        component(record)
    times = []
    for _ in range(n):
        start = time.perf_counter()
        component(record)
        times.append((time.perf_counter() - start) * 1e6)
    times.sort()
    return {"p50_us": round(statistics.median(times), 1), "p99_us": round(times[int(len(times) * 0.99) - 1], 1)}


def registry(home: Path) -> Any:
    from citymind.cli.bootstrap import bootstrap
    from registry import MlflowRegistry

    reg = MlflowRegistry(
        f"sqlite:///{home / 'mlflow.db'}", artifact_location=(home / "artifacts").as_uri(), cache_dir=home / "cache"
    )
    for _ in bootstrap(reg):
        pass
    return reg


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--out", type=Path, help="also write the JSON here (Ray may print to stdout too)")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    home = Path(tempfile.mkdtemp(prefix="citymind-bench-components-"))
    reg = registry(home)
    from models.components.pipeline import load_registered

    local: dict[str, dict[str, float]] = {}
    cases: dict[str, tuple[str, dict[str, Any]]] = {}
    for name, cls in sorted(available_components().items()):
        component = cls()
        example = REPORT if "text" in component.input_schema.get("required", []) else component.examples[0]
        local[name] = in_process(component, example, args.records)
        cases[name] = (f"/v1/components/{name}", example)
    pipeline = load_registered(reg, "report-intake@production")
    pipeline.setup(reg)
    local["pipeline:report-intake"] = in_process(pipeline, REPORT, args.records)
    cases["pipeline:report-intake"] = ("/v1/pipelines/report-intake", REPORT)
    served = through_gateway(reg, home, cases, args.requests)
    report = {
        "benchmark": "components",
        "load_average_1m": round(os.getloadavg()[0], 2),
        "records_in_process": args.records,
        "requests_through_gateway": args.requests,
        "results": {
            name: {
                "in_process": local[name],
                "gateway": served[name],
                "gateway_p50_ratio_to_in_process": round(
                    served[name]["sequential"]["p50_ms"] * 1000 / local[name]["p50_us"], 1
                ),
            }
            for name in local
        },
        "privacy_mask_quality": mask_quality(),
    }
    text = json.dumps(report, ensure_ascii=False, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


def through_gateway(
    reg: Any, home: Path, cases: dict[str, tuple[str, dict[str, Any]]], requests: int
) -> dict[str, Any]:
    from serving.deployments import GatewayConfig
    from serving.launcher import start_gateway, stop_gateway

    config = GatewayConfig(
        tracking_uri=reg.tracking_uri, artifact_location=reg.artifact_location, cache_dir=str(home / "gateway-cache")
    )
    url = start_gateway(config, port=free_port()).url
    try:
        return {
            name: measure(f"{url}{path}", {"record": record}, requests=requests, warmup=50, clients=4)
            for name, (path, record) in cases.items()
        }
    finally:
        stop_gateway()


def mask_quality() -> dict[str, dict[str, float]]:
    from models.components.privacy_mask import PrivacyMasker
    from tests.unit.test_components import per_type_scores

    return {
        k: {"precision": round(p, 4), "recall": round(r, 4)} for k, (p, r) in per_type_scores(PrivacyMasker()).items()
    }


if __name__ == "__main__":
    main()
