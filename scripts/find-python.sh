#!/usr/bin/env bash
# Usage: bash scripts/find-python.sh 3.12
# Prints a working interpreter of that Python version: python3.12 on PATH if it runs (a pyenv shim for a
# version that is not selected does not), else the newest pyenv build of it ($PYENV_ROOT, default
# ~/.pyenv). Exit 1, printing nothing, if this machine has none.
set -euo pipefail
want="${1:?usage: find-python.sh 3.X}"
root="${PYENV_ROOT:-$HOME/.pyenv}"
candidates=()
if cand=$(command -v "python$want" 2>/dev/null); then candidates+=("$cand"); fi
if [ -d "$root/versions" ]; then
  while IFS= read -r name; do candidates+=("$root/versions/$name/bin/python"); done < <(
    ls "$root/versions" | grep -E "^${want//./\\.}\.[0-9]+$" | sort -rV || true)
fi
for cand in "${candidates[@]}"; do
  got=$("$cand" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) || continue
  if [ "$got" = "$want" ]; then
    echo "$cand"
    exit 0
  fi
done
exit 1
