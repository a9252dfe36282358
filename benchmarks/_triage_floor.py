"""The triage floor: the gateway's own FastAPI app (``create_app``) under plain uvicorn, one process, no Ray: the
same route, classifier, graph, rules and event state (in memory)."""

import sys
from pathlib import Path

import uvicorn

from registry import MlflowRegistry
from serving.app import create_app
from serving.model_hub import ModelHub

tracking_uri, artifact_location, cache_dir, port = sys.argv[1:5]
hub = ModelHub(MlflowRegistry(tracking_uri, artifact_location=artifact_location, cache_dir=Path(cache_dir)))
uvicorn.run(create_app(hub, auth="off"), host="127.0.0.1", port=int(port), log_level="warning")
