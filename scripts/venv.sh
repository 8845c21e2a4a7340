# Sourced by scripts/test.sh and scripts/demo.sh (from the repository root): the interpreter, the venv,
# and real Mbed TLS 2.28 for `check --with-mbedtls` and the tests.
#
#   PYTHON=python3.12   the interpreter (default: python3). With PYTHON set, the venv is .venv-3.12
#                       (one per Python version), else .venv.
#   VENV=DIR            use this venv folder instead.
#
# Sets PY (the interpreter), PY_VERSION (e.g. 3.12.1), VENV and VENV_PY (the venv's python).

PY="${PYTHON:-python3}"
_version_code='import sys; print("%d.%d.%d" % sys.version_info[:3])'
if ! PY_VERSION=$("$PY" -c "$_version_code" 2>/dev/null); then
  # PYTHON=python3.X that does not run (e.g. a pyenv shim for a version not selected): a pyenv build of it.
  if [[ "$PY" =~ ^python(3\.[0-9]+)$ ]] && _found=$(bash scripts/find-python.sh "${BASH_REMATCH[1]}"); then
    echo "$PY does not run here; using $_found"
    PY="$_found"
    PY_VERSION=$("$PY" -c "$_version_code")
  else
    echo "error: cannot run the interpreter '$PY'; choose one with PYTHON=..., e.g. PYTHON=python3.12" >&2
    exit 2
  fi
fi
if [ -z "${VENV:-}" ]; then
  if [ -n "${PYTHON:-}" ]; then VENV=".venv-${PY_VERSION%.*}"; else VENV=".venv"; fi
fi
VENV_PY="$VENV/bin/python"
if [ -x "$VENV_PY" ]; then
  _venv_version=$("$VENV_PY" -c "$_version_code" 2>/dev/null || echo broken)
  if [ "${_venv_version%.*}" != "${PY_VERSION%.*}" ]; then
    echo "error: $VENV holds Python $_venv_version, not $PY_VERSION ($PY); remove it or set VENV=..." >&2
    exit 2
  fi
else
  "$PY" -m venv "$VENV"
  [ -e "$VENV/.gitignore" ] || printf '# made by scripts/venv.sh\n*\n' > "$VENV/.gitignore"
fi

# Real Mbed TLS 2.28. python-mbedtls's wheel bundles 2.28.8 (extra `mbedtls`, Python <= 3.12). Where
# it has no wheel (3.13), the oracle uses the system's Mbed TLS 2.28 (libmbedcrypto.so.7 and
# libmbedx509.so.1): installed here with apt-get when missing and possible (Debian 12 / Ubuntu ship
# 2.28.x as libmbedx509-1). If neither can be had, this says why and the tests that need it are skipped.
# Prints one line "real Mbed TLS: ..." and sets MBEDTLS_STATUS to it.
ensure_real_mbedtls() {
  if MBEDTLS_STATUS=$("$VENV_PY" -m hatch_meadow.mbedtls_oracle); then
    echo "$MBEDTLS_STATUS"
    return 0
  fi
  echo "no real Mbed TLS in $VENV (no python-mbedtls wheel for Python $PY_VERSION?): looking for the system's Mbed TLS 2.28"
  _install_system_mbedtls || true
  if MBEDTLS_STATUS=$("$VENV_PY" -m hatch_meadow.mbedtls_oracle); then
    echo "$MBEDTLS_STATUS"
  else
    MBEDTLS_STATUS=$(echo "$MBEDTLS_STATUS" | head -1)
    echo "WARNING: $MBEDTLS_STATUS"
    echo "WARNING: the checks against real Mbed TLS are skipped, each with this reason"
  fi
  return 0
}

_install_system_mbedtls() {
  local package=libmbedx509-1 sudo="" candidate
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "no apt-get here: install Mbed TLS 2.28 (libmbedcrypto.so.7, libmbedx509.so.1) with the system's package manager"
    return 1
  fi
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; else
      echo "not root and no password-less sudo: run 'sudo apt-get install $package' yourself"
      return 1
    fi
  fi
  candidate=$(apt-cache policy "$package" 2>/dev/null | awk '/Candidate:/ {print $2}')
  if [ -z "$candidate" ] || [ "$candidate" = "(none)" ]; then
    $sudo apt-get update -qq >/dev/null 2>&1 || true
    candidate=$(apt-cache policy "$package" 2>/dev/null | awk '/Candidate:/ {print $2}')
  fi
  case "$candidate" in
    2.28.*) ;;
    *) echo "the apt sources offer ${package} ${candidate:-(none)}, not Mbed TLS 2.28.x: not installing it"
       return 1 ;;
  esac
  echo "installing $package $candidate (Mbed TLS 2.28) with apt-get"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$package" >/dev/null
}

# Debian's mosquitto, the real MQTT broker the verify-tls tests start and stop themselves (port 0 style, on
# 127.0.0.1). Installed with apt-get when missing and possible; otherwise those tests are skipped, saying why.
ensure_mosquitto() {
  if command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ]; then
    echo "mosquitto: $( (mosquitto -h 2>/dev/null || /usr/sbin/mosquitto -h 2>/dev/null) | head -1)"
    return 0
  fi
  local sudo=""
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "WARNING: no mosquitto and no apt-get: the verify-tls broker tests are skipped"; return 0
  fi
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; else
      echo "WARNING: no mosquitto (run 'sudo apt-get install mosquitto'): the verify-tls broker tests are skipped"
      return 0
    fi
  fi
  echo "installing mosquitto with apt-get (for the verify-tls tests)"
  $sudo apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends mosquitto >/dev/null 2>&1 \
    || echo "WARNING: apt-get could not install mosquitto: the verify-tls broker tests are skipped"
  # The package's service is not wanted: the tests start their own brokers.
  $sudo service mosquitto stop >/dev/null 2>&1 || true
}
