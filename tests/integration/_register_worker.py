"""Worker for the concurrency test: registers N versions of one asset into a shared store."""

import json
import sys

from registry import MlflowRegistry

tracking_uri, artifact_location, name, count, worker = sys.argv[1:6]
reg = MlflowRegistry(tracking_uri, artifact_location=artifact_location or None)
versions = [reg.register("algorithm", name, {"worker": int(worker), "i": i}).version for i in range(int(count))]
print(json.dumps(versions))
