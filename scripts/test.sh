#!/usr/bin/env bash
# The whole test suite on a fresh machine: makes a venv, installs hatch-meadow with its test and lint
# extras (and real Mbed TLS 2.28, see scripts/venv.sh), then runs ruff, mypy --strict and pytest (real
# hatchling builds, one isolated `python -m build`).
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -m "not slow"`.
# Another Python: `PYTHON=python3.12 bash scripts/test.sh` (its own venv, .venv-3.12).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
echo "test.sh: Python $PY_VERSION ($PY), venv $VENV"
"$VENV_PY" -m pip install -q --disable-pip-version-check -e '.[test,lint]'
ensure_real_mbedtls
ensure_mosquitto
"$VENV_PY" -m ruff check hatch_meadow tests benchmarks
echo "test.sh: ruff ok"
"$VENV_PY" -m mypy
echo "test.sh: mypy ok"
"$VENV_PY" -m pytest "$@"
