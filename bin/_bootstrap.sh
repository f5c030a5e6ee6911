# Sourced by bin/flowsync and bin/test: make sure .venv exists and matches pyproject.toml.
# The venv is (re)built when pyproject.toml changes; a lock keeps parallel callers from racing.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
STAMP="$VENV/.pyproject.sha256"

find_python() {
  for candidate in "${FLOWSYNC_PYTHON:-}" python3.13 python3.12 python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  echo "flowsync: Python >= 3.11 is required (set FLOWSYNC_PYTHON to its path)" >&2
  return 1
}

bootstrap() {
  local want
  want="$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)"
  if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    return 0
  fi
  mkdir -p "$ROOT/.flowsync"
  exec 9>"$ROOT/.flowsync/bootstrap.lock"
  flock 9
  if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    exec 9>&-
    return 0
  fi
  echo "flowsync: preparing $VENV (first run or pyproject.toml changed)..." >&2
  local python
  python="$(find_python)"
  [ -x "$VENV/bin/python" ] || "$python" -m venv "$VENV"
  local log="$ROOT/.flowsync/bootstrap.log"
  if ! { "$VENV/bin/python" -m pip install --disable-pip-version-check --upgrade pip &&
    "$VENV/bin/python" -m pip install --disable-pip-version-check -e "$ROOT[dev]"; } >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "flowsync: installing dependencies failed (full log: $log)" >&2
    exit 1
  fi
  echo "$want" >"$STAMP"
  exec 9>&-
}

bootstrap
