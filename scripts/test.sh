#!/usr/bin/env bash
# The whole test suite on a fresh machine: makes .venv, installs hatch-meadow with its test and lint
# extras, then runs ruff, mypy --strict and pytest (real hatchling builds, one isolated `python -m build`).
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -m "not slow"`.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test,lint]'
.venv/bin/python -m ruff check hatch_meadow tests benchmarks
.venv/bin/python -m mypy
.venv/bin/python -m pytest "$@"
