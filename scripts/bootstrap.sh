#!/usr/bin/env bash
# Creates .venv with Python 3.12 and installs requirements-dev.txt (which includes the runtime
# requirements). Re-installs only when a requirements file changed. Used by `make dev` and `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."

want="3.12"
find_python() {
  local c
  for c in "${PYTHON:-}" python3.12 "$HOME"/.pyenv/versions/3.12*/bin/python3.12 \
           /usr/local/bin/python3.12 /usr/bin/python3.12; do
    [ -n "$c" ] || continue
    if command -v "$c" >/dev/null 2>&1 && \
       "$c" -c "import sys; raise SystemExit(sys.version_info[:2] != (3, 12))" 2>/dev/null; then
      command -v "$c"; return 0
    fi
  done
  return 1
}

if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c "import sys; raise SystemExit(sys.version_info[:2] != (3, 12))"; then
  py=$(find_python) || { echo "Python $want is required (pyenv install $want, or set PYTHON=/path/to/python3.12)" >&2; exit 1; }
  rm -rf .venv
  "$py" -m venv .venv
fi

stamp=".venv/.installed-$(cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
  rm -f .venv/.installed-*
  touch "$stamp"
fi
