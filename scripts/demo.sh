#!/usr/bin/env bash
# The main job on a fresh machine: install hatch-meadow into .venv, copy example_project to a scratch
# folder, and build it with the meadow hook (a real hatchling wheel build), twice, to show the csproj
# patch and that a re-build changes nothing. Then `hatch-meadow check` reports the project's state.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e . build
work=".demo/example_project"
rm -rf .demo && mkdir -p .demo && cp -R example_project "$work"
echo "== building $work (python -m build --wheel --no-isolation) =="
(cd "$work" && ../../.venv/bin/python -m build --wheel --no-isolation --outdir dist . 2>&1 | grep -E "hatch-meadow|Successfully")
echo "== what the build changed in the csproj =="
git --no-pager diff --no-index --stat example_project/MeadowApp/MeadowApp.csproj "$work/MeadowApp/MeadowApp.csproj" || true
git --no-pager diff --no-index example_project/MeadowApp/MeadowApp.csproj "$work/MeadowApp/MeadowApp.csproj" | tail -n +5 || true
before=$(sha256sum "$work/MeadowApp/MeadowApp.csproj")
echo "== building again: the csproj must stay byte-identical =="
(cd "$work" && ../../.venv/bin/python -m build --wheel --no-isolation --outdir dist . 2>&1 | grep -E "hatch-meadow|Successfully")
after=$(sha256sum "$work/MeadowApp/MeadowApp.csproj")
[ "$before" = "$after" ] && echo "csproj unchanged by the second build" || { echo "csproj changed!"; exit 1; }
echo "== hatch-meadow check =="
.venv/bin/hatch-meadow check --project "$work"
