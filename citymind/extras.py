"""What the optional installs add, and the error a person can act on when one is missing.

| extra  | adds                                                                     | for                         |
|--------|--------------------------------------------------------------------------|-----------------------------|
| (none) | the gateway, registry, rules, knowledge, components                      | ``citymind serve``, triage  |
| train  | torch, onnxscript, skl2onnx, statsmodels, matplotlib, lightgbm, holidays | ``citymind train``, samples |

``pip install citymind`` serves; ``pip install 'citymind[train]'`` trains (docs/deploy.md).
"""

from __future__ import annotations

from importlib.util import find_spec

from citymind.errors import MissingExtra

#: import name of each package an extra adds (what must be importable for its commands)
EXTRAS: dict[str, tuple[str, ...]] = {
    "train": ("torch", "onnxscript", "skl2onnx", "statsmodels", "matplotlib", "lightgbm", "holidays")
}


def missing(extra: str = "train") -> tuple[str, ...]:
    """The packages of ``extra`` that cannot be imported here (none: the extra is installed)."""
    return tuple(name for name in EXTRAS[extra] if find_spec(name) is None)


def install_hint(extra: str = "train") -> str:
    return f"pip install 'citymind[{extra}]' (from a checkout: deploy/install.sh VENV {extra}, or make install)"


def require(purpose: str, extra: str = "train") -> None:
    """Raise :class:`MissingExtra` naming what to install when ``purpose`` cannot run in this install."""
    absent = missing(extra)
    if absent:
        raise MissingExtra(
            f"{purpose} needs the '{extra}' extra, which this install leaves out (missing: {', '.join(absent)}). "
            f"Install it: {install_hint(extra)}.",
            extra=extra,
            missing=absent,
        )
