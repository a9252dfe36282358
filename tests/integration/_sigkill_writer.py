"""Writer for the SIGKILL test: imports once, then forks one child per kill point. Each child registers a new
ONNX version of NAME (tag ``seq``: the model outputs ``4 * seq``) and moves ``champion`` to it, and is killed
with SIGKILL at its point:

- ``before:METHOD`` / ``after:METHOD``: the child kills itself around that ``MlflowClient`` call
  (``create_run``, ``log_artifacts``, ``create_model_version``, ``set_registered_model_alias`` ...);
- ``mid:log_artifacts``: after the second artifact file is written, the rest not yet;
- ``random:SECONDS``: the child registers in a loop and this process kills it after SECONDS.

usage: python -m tests.integration._sigkill_writer TRACKING_URI ARTIFACT_LOCATION NAME WORKDIR POINT [POINT ...]
Prints one JSON list: per point, whether the child died of SIGKILL (``killed``) or finished first.
"""

import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any

import mlflow
from mlflow.store.artifact.http_artifact_repo import HttpArtifactRepository

from registry import MlflowRegistry
from tests.integration._assets import tiny_onnx


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def install(point: str) -> None:
    when, method = point.split(":", 1)
    if when == "random":
        return
    client = mlflow.MlflowClient
    original = getattr(client, method)
    if when == "mid":
        copy2, upload = shutil.copy2, HttpArtifactRepository.log_artifact
        written = [0]

        def counted(real: Any) -> Any:
            def call(*args: Any, **kwargs: Any) -> Any:
                result = real(*args, **kwargs)
                written[0] += 1
                if written[0] == 2:
                    die()
                return result

            return call

        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            shutil.copy2 = counted(copy2)  # the embedded store copies file by file
            HttpArtifactRepository.log_artifact = counted(upload)  # type: ignore[method-assign]  # a server
            return original(self, *args, **kwargs)

    else:

        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            if when == "before":
                die()
            result = original(self, *args, **kwargs)
            die()
            return result

    setattr(client, method, wrapper)


def register_forever(reg: MlflowRegistry, name: str, workdir: Path, base: int, loop: bool) -> None:
    for seq in range(base, base + 1000):
        model = tiny_onnx(workdir / f"{seq}.onnx", scale=float(seq))
        version = reg.register("model", name, model, tags={"seq": str(seq)})
        reg.set_alias(name, "champion", version.version)
        if not loop:
            return


def main() -> None:
    tracking_uri, artifact_location, name, workdir, *points = sys.argv[1:]
    outcomes = []
    for i, point in enumerate(points):
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:  # the child: a fresh client of its own, nothing inherited from the parent's connections
            try:
                install(point)
                reg = MlflowRegistry(tracking_uri, artifact_location=artifact_location or None)
                register_forever(reg, name, Path(workdir), base=(i + 1) * 1000, loop=point.startswith("random"))
            except BaseException as exc:
                print(f"{point}: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
                os._exit(3)
            os._exit(0)
        if point.startswith("random:"):
            time.sleep(float(point.split(":", 1)[1]))
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        outcomes.append(
            {
                "point": point,
                "killed": killed,
                "exit": None if killed else os.WEXITSTATUS(status),
                "seconds": round(time.monotonic() - started, 2),
            }
        )
    print(json.dumps(outcomes))


if __name__ == "__main__":
    main()
