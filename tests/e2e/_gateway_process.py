"""The e2e session's gateway, in a process of its own: ``python -m tests.e2e._gateway_process CONFIG.json``.

It starts the gateway (Ray, Serve, the citymind application) from the GatewayConfig fields in CONFIG.json, writes
``{"url": ..., "replica_urls": [...], "gcs_address": ...}`` to ``CONFIG.json.url``, serves until its stdin
closes, then stops Serve and Ray. The test process never becomes a Ray driver, so Ray's shutdown cannot end the
test run (a run once printed every pass, then exited with status 1 and no summary while Ray shut down in the
pytest process)."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(config_file: str) -> None:
    from events.video import VideoConfig
    from serving.deployments import GatewayConfig
    from serving.launcher import start_gateway, stop_gateway

    fields = json.loads(Path(config_file).read_text())
    port = fields.pop("port")
    if fields.get("video") is not None:
        fields["video"] = VideoConfig(**fields["video"])
    urls = start_gateway(GatewayConfig(**fields), port=port)
    try:
        partial = Path(f"{config_file}.url.partial")
        import ray

        gcs = ray.get_runtime_context().gcs_address
        partial.write_text(json.dumps({"url": urls.url, "replica_urls": list(urls.replica_urls), "gcs_address": gcs}))
        partial.replace(f"{config_file}.url")  # the test process never reads half a file
        sys.stdin.read()  # until the test session closes it (or dies)
    finally:
        stop_gateway()


if __name__ == "__main__":
    main(sys.argv[1])
