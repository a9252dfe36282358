"""MLflow pyfunc loader for file assets (rule sets, knowledge snapshots, component specs).

Saved with ``loader_module`` so nothing is pickled: ``mlflow.pyfunc.load_model`` on a rule set returns a
model whose ``predict`` lists the files it holds. Each library reads the files itself. New versions carry a copy
of this file as ``code/citymind_file_asset.py`` (plain MLflow needs nothing else); versions saved before that
name ``registry._files_loader``. Keep it dependency-free.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class FileAsset:
    def __init__(self, root: Path) -> None:
        self.root = root

    def files(self) -> list[str]:
        return sorted(str(p.relative_to(self.root)) for p in self.root.rglob("*") if p.is_file())

    def predict(self, model_input: Any = None, params: Any = None) -> list[str]:
        return self.files()


def _load_pyfunc(data_path: str) -> FileAsset:
    return FileAsset(Path(data_path))
