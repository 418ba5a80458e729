#!/usr/bin/env bash
# Creates reference/.venv (git-ignored) with torch, numpy, safetensors and ai-edge-litert (TFLite).
# Idempotent: re-running only checks/installs what is missing.
# Fast path: a local wheel folder (pip find-links, e.g. /opt/wheels) with a torch CPU wheel;
# fallback: torch==2.11.0 from PyPI (CPU index first, then the default index).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
PY="${PYTHON:-python3}"

say() { echo "[reference/setup] $*"; }
die() { echo "[reference/setup] ERROR: $*" >&2; exit 1; }

command -v "$PY" >/dev/null 2>&1 || die "no '$PY' on PATH (set PYTHON=/path/to/python3.10+)"
say "python: $("$PY" --version 2>&1) at $(command -v "$PY")"

if [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
  say "virtual environment exists: $VENV"
else
  say "creating virtual environment: $VENV"
  rm -rf "$VENV"
  "$PY" -m venv "$VENV" || die "python -m venv failed (install python3-venv?)"
fi
VPY="$VENV/bin/python"

have() { "$VPY" -c "import $1" >/dev/null 2>&1; }

if have torch; then
  say "torch already installed: $("$VPY" -c 'import torch; print(torch.__version__)')"
else
  WHEELS="${TORCH_WHEELS:-/opt/wheels}"
  ok=0
  if [[ -d "$WHEELS" ]] && ls "$WHEELS"/torch-*.whl >/dev/null 2>&1; then
    # --no-index: take the local CPU wheel, never a newer (CUDA) one from PyPI.
    # torch's own dependencies (sympy, networkx, ...) come from the index in a second call.
    say "fast path: local torch wheel from $WHEELS: $(ls "$WHEELS"/torch-*.whl | xargs -n1 basename | tr '\n' ' ')"
    if "$VPY" -m pip install --no-index --find-links "$WHEELS" --no-deps torch \
       && "$VPY" -m pip install --find-links "$WHEELS" torch; then ok=1; fi
  fi
  if [[ $ok != 1 ]]; then
    say "fast path failed; falling back to torch==2.11.0 (CPU) from PyPI"
    "$VPY" -m pip install torch==2.11.0 --index-url https://download.pytorch.org/whl/cpu \
      || "$VPY" -m pip install torch==2.11.0 \
      || die "could not install torch"
  fi
fi

for pkg in numpy safetensors; do
  if have "$pkg"; then
    say "$pkg already installed"
  else
    say "installing $pkg"
    "$VPY" -m pip install "$pkg" || die "could not install $pkg"
  fi
done

# TFLite's own interpreter (Google's LiteRT), only for make_pose_fixtures.py.
if have ai_edge_litert; then
  say "ai-edge-litert already installed"
else
  say "installing ai-edge-litert==2.3.0"
  "$VPY" -m pip install "ai-edge-litert==2.3.0" || die "could not install ai-edge-litert"
fi

"$VPY" - <<'PYEOF' || die "import check failed"
import torch, numpy, safetensors
print(f"[reference/setup] ok: torch {torch.__version__}, numpy {numpy.__version__}, "
      f"safetensors {safetensors.__version__}, threads {torch.get_num_threads()}")
PYEOF
say "done. Use: reference/.venv/bin/python reference/<script>.py"
