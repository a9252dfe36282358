"""The serving/training split of the package: what `pip install citymind` holds, what the train extra adds, that
the serving path imports no training package, and the message when one is missing. (A real serving-only venv:
tests/e2e/test_serving_install.py.)"""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import pytest

from citymind import extras
from citymind.errors import CitymindError, MissingExtra

TRAINING_ONLY = {"torch", "statsmodels", "matplotlib", "skl2onnx", "onnxscript", "mlflow", "lightgbm", "holidays"}


def _requirements() -> tuple[set[str], dict[str, str]]:
    core, train = set(), {}
    for requirement in importlib.metadata.requires("citymind") or []:
        name = re.split(r"[\s;<>=!\[~]", requirement, maxsplit=1)[0].lower()
        if 'extra == "train"' in requirement:
            train[name] = requirement
        elif "extra ==" not in requirement:
            core.add(name)
    return core, train


def test_training_packages_are_the_train_extra_and_torch_stays_pinned() -> None:
    core, train = _requirements()
    assert not core & TRAINING_ONLY, core & TRAINING_ONLY
    assert {"mlflow-skinny", "onnxruntime", "ray", "sqlalchemy", "alembic"} <= core
    assert set(train) == TRAINING_ONLY
    assert train["torch"].startswith("torch==2.13.0")  # a bare torch pulls a multi-GB CUDA build


def test_this_environment_has_the_train_extra_so_the_training_tests_run() -> None:
    assert extras.missing("train") == ()  # make install: -e '.[dev,train]'


def test_the_serving_path_imports_no_training_package() -> None:
    heavy = sorted(TRAINING_ONLY - {"mlflow"})
    probe = (
        "import importlib, sys, citymind.cli\n"
        "for group in citymind.cli.GROUPS.values(): importlib.import_module(group)\n"
        "import serving.deployments, serving.app, serving.launcher, events.triage, "
        "models.onnx_session, knowledge_graph.retrieval, rules.engine\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({heavy!r})))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


def test_a_rule_authors_commands_load_only_what_they_use() -> None:
    """`citymind rules validate` and `rules test` run in a rule author's edit loop: the command groups are imported
    when named, so neither loads the registry's, the event store's, the graph's or the models' libraries."""
    probe = (
        "import sys\nfrom typer.testing import CliRunner\nfrom citymind.cli import app\n"
        "for command in ('validate', 'test'):\n"
        "    done = CliRunner().invoke(app, ['rules', command, 'rules/defaults/pingdu.yaml'])\n"
        "    assert done.exit_code == 0, done.output\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'mlflow', 'sqlalchemy', 'networkx', 'numpy', 'ray'}))"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=root)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


def test_a_missing_extra_names_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(extras, "find_spec", lambda name: None if name == "skl2onnx" else real(name))
    with pytest.raises(MissingExtra) as caught:
        extras.require("citymind train")
    assert isinstance(caught.value, CitymindError) and isinstance(caught.value, ImportError)
    assert caught.value.missing == ("skl2onnx",) and caught.value.extra == "train"
    assert str(caught.value).startswith("citymind train needs the 'train' extra")
    assert "pip install 'citymind[train]'" in str(caught.value)


def test_citymind_version_prints_the_installed_version() -> None:
    done = subprocess.run([sys.executable, "-m", "citymind.cli", "--version"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"citymind {importlib.metadata.version('citymind')}"
