#!/usr/bin/env bash
# Install citymind from this checkout into a virtual environment: the one install the gateway image, the training
# image and CI (tests/integration/test_install.py) all run.
#
#   deploy/install.sh VENV            serving: the gateway, rules, knowledge, triage, registry (no torch,
#                                     statsmodels, matplotlib, skl2onnx: `citymind train` says what to add)
#   deploy/install.sh VENV train      and training (`citymind train`, `citymind bootstrap`'s sample models)
#
# PYTHON picks the interpreter that creates VENV (default python3, 3.11 or 3.12). Pins come from constraints.txt;
# pip's cache is used when there is one (PIP_NO_CACHE_DIR=1 turns it off, as the images do).
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
venv="${1:?usage: deploy/install.sh VENV [EXTRAS, e.g. train]}"
extras="${2:-}"
if [ ! -x "$venv/bin/python" ]; then
  "${PYTHON:-python3}" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check)
# setuptools builds in the tree it is given (build/, *.egg-info): give it a copy, so the checkout stays clean
copy="$(mktemp -d)"
trap 'rm -rf "$copy"' EXIT
tar -C "$src" --exclude=./.git --exclude=./.venv --exclude=./.citymind --exclude=./build --exclude='./*.egg-info' \
  -cf - . | tar -C "$copy" -xf -
"${pip[@]}" install --quiet --constraint "$src/constraints.txt" "$copy${extras:+[$extras]}"
"${pip[@]}" check
"$venv/bin/citymind" --version
