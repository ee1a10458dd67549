# Shared by scripts/demo and scripts/test: a virtualenv in .venv with labeler installed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${LABELER_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"

ensure_venv() {
  local extras="$1"  # "" or "[test]"
  if [ ! -x "$VENV/bin/python" ]; then
    echo "== creating $VENV"
    "$PY" -m venv "$VENV"
  fi
  # Reinstall only when pyproject.toml changed since the last install.
  local stamp="$VENV/.labeler-installed$extras"
  if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ]; then
    echo "== installing labeler$extras into $VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    # torch first and pinned: labeler needs it (sentence embeddings), and left to pip a bare
    # torch requirement resolves to a multi-GB CUDA build; the index serves a CPU wheel.
    "$VENV/bin/python" -m pip install --quiet "torch==2.13.0"
    "$VENV/bin/python" -m pip install --quiet -e "$ROOT$extras"
    touch "$stamp"
  fi
}
