#!/usr/bin/env bash
# The main job on a fresh machine: install hatch-meadow (with the real-Mbed-TLS extra) into .venv, copy
# example_project to a scratch folder and build it with the meadow hook (a real hatchling wheel build):
# credentials are generated and validated as the board's Mbed TLS would parse them, the csproj is
# patched, and the credentials are deployed over HCOM to a Meadow: a board given with MEADOW_PORT=...,
# else the built-in simulated board (sim://). A second build changes nothing and sends nothing. Then
# the thumbprints, the az registration line, and a check against real Mbed TLS.
# Another Python: `PYTHON=python3.12 bash scripts/demo.sh` (its own venv, .venv-3.12; see scripts/venv.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
echo "demo.sh: Python $PY_VERSION ($PY), venv $VENV"
"$VENV_PY" -m pip install -q --disable-pip-version-check -e '.[mbedtls]' build
ensure_real_mbedtls
venv_bin="$(cd "$VENV" && pwd)/bin"
work=".demo/example_project"
port="${MEADOW_PORT:-sim://demo-board}"
rm -rf .demo && mkdir -p .demo && cp -R example_project "$work"
# The deploy record (what each board holds) is per machine; the demo keeps its own, so a rerun starts afresh.
export HATCH_MEADOW_STATE_DIR="$PWD/.demo/machine-state"
run_build() { (cd "$work" && HATCH_MEADOW_DEPLOY=1 HATCH_MEADOW_PORT="$port" \
  "$venv_bin/python" -m build --wheel --no-isolation --outdir dist . 2>&1 | grep -E "hatch-meadow|Successfully|rror") }
echo "== 1. build $work and deploy to $port (HATCH_MEADOW_DEPLOY=1 python -m build --wheel --no-isolation) =="
run_build
echo "== 2. what the build changed in the csproj =="
git --no-pager diff --no-index example_project/MeadowApp/MeadowApp.csproj "$work/MeadowApp/MeadowApp.csproj" \
  | tail -n +5 || true
echo "== 3. the credential files (secrets are 0600; nothing of them is printed) =="
ls -l "$work/MeadowApp/"*.pem "$work/MeadowApp/private_key_pass.txt"
before=$(sha256sum "$work/MeadowApp/MeadowApp.csproj" "$work/MeadowApp/"*.pem)
echo "== 4. build again: nothing may change, nothing is sent again =="
run_build
after=$(sha256sum "$work/MeadowApp/MeadowApp.csproj" "$work/MeadowApp/"*.pem)
[ "$before" = "$after" ] && echo "csproj and credentials unchanged by the second build" \
  || { echo "the second build changed files!"; exit 1; }
echo "== 5. no credential in the wheel =="
"$venv_bin/python" -c "import sys, zipfile; n=[x for x in zipfile.ZipFile(sys.argv[1]).namelist() if x.endswith(('.pem', 'pass.txt'))]; print('wheel clean' if not n else n); sys.exit(bool(n))" "$work"/dist/*.whl
echo "== 6. thumbprints and the Azure IoT Hub registration line =="
"$venv_bin/hatch-meadow" thumbprint --project "$work" --hub my-meadow-hub
echo "== 7. hatch-meadow check, also against real Mbed TLS 2.28 =="
if [[ "$MBEDTLS_STATUS" == *unavailable* ]]; then
  echo "without real Mbed TLS here ($MBEDTLS_STATUS): the prediction only"
  "$venv_bin/hatch-meadow" check --project "$work"
else
  "$venv_bin/hatch-meadow" check --project "$work" --with-mbedtls
fi
echo "== 8. this machine's deploy record (board serial -> SHA-256 of the set; no secrets) =="
cat "$HATCH_MEADOW_STATE_DIR/deploy-record.json"
echo
echo "demo.sh: OK: credentials generated and checked, csproj patched, set deployed to $port and imported;" \
  "second build changed and sent nothing; wheel clean"
