"""A gateway app (no Ray) for ``bench_console.py``: ``python _console_server.py TRACKING_URI ARTIFACTS PORT CONSOLE``
serves the registry's models with the console's routes mounted (CONSOLE=1) or not (0)."""

import sys
from pathlib import Path

import uvicorn

from registry import MlflowRegistry
from serving.app import create_app
from serving.model_hub import ModelHub

tracking, artifacts, port, console = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
registry = MlflowRegistry(tracking, artifact_location=artifacts, cache_dir=Path(tracking[10:]).parent / f"cache-{port}")
app = create_app(ModelHub(registry), auth="off", console=console, overdue_interval_s=None, selfwatch_interval_s=None)
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
