#!/usr/bin/env bash
# Installs everything VidPred needs that a fresh machine lacks. Idempotent: each step checks first
# and is skipped when already done, so `make test` / `make demo` can call it every time.
#
#   LIBTORCH=/path/to/torch   use an existing libtorch (a Python install's torch/ folder or a
#                             C++ distribution) instead of the pinned one this script extracts.
#   VIDPRED_SKIP_APT=1        never call apt-get (report what is missing instead).
#
# What it installs:
#   - Debian packages: libpng-dev (PNG codec), ffmpeg (video import), pkg-config, chromium (the
#     report tests render the page in it; scripts/render-report.sh uses it), libgloo-dev (only the
#     gloo headers that torch's ProcessGroupGloo.hpp includes; the gloo code is libtorch's own).
#   - libtorch pinned to torch 2.11.0 from PyPI: only headers + the CPU libraries, extracted into
#     .deps/site/torch (git-ignored), plus the two small CUDA runtime wheels that libtorch_cpu.so
#     of that build NEEDs at load time (no GPU is used) into .deps/site/nvidia.
#   - BlazePose's two TFLite models from the mediapipe wheel on PyPI, checksummed, into .deps/models.
#   - A Python venv (.deps/pyenv) with numpy, safetensors, Pillow, tensorboard and torch (CPU build),
#     used only by the interop tests (reading our files with Python tools and PyTorch), never by the
#     product. TORCH_WHEELS=DIR (default /opt/wheels) installs torch from a local wheel folder instead.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEPS="$ROOT/.deps"
TORCH_VERSION="2.11.0"
CUDA_RUNTIME_WHEEL="nvidia-cuda-runtime==13.0.96"
CUDA_CUPTI_WHEEL="nvidia-cuda-cupti==13.0.85"

say()  { echo "[setup] $*"; }
fail() { echo "[setup] ERROR: $*" >&2; exit 1; }

# ---------------------------------------------------------------- Debian packages
need_pkgs=()
for pkg in libpng-dev ffmpeg pkg-config chromium libgloo-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_pkgs+=("$pkg")
done
if ((${#need_pkgs[@]})); then
  if [[ "${VIDPRED_SKIP_APT:-0}" == 1 ]]; then
    fail "missing Debian packages: ${need_pkgs[*]} (install them: apt-get install ${need_pkgs[*]})"
  fi
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  say "installing Debian packages: ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq || fail "apt-get update failed (network? run it by hand to see why)"
  $SUDO apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null \
    || fail "apt-get install ${need_pkgs[*]} failed"
else
  say "Debian packages present (libpng-dev ffmpeg pkg-config chromium libgloo-dev)"
fi

# ---------------------------------------------------------------- libtorch
if [[ -n "${LIBTORCH:-}" ]]; then
  [[ -f "$LIBTORCH/lib/libtorch_cpu.so" ]] || fail "LIBTORCH=$LIBTORCH has no lib/libtorch_cpu.so"
  say "using LIBTORCH=$LIBTORCH"
elif [[ -f "$DEPS/site/torch/lib/libtorch_cpu.so" && -f "$DEPS/site/.torch-$TORCH_VERSION" ]]; then
  say "libtorch $TORCH_VERSION present in .deps/site/torch"
else
  say "fetching torch==$TORCH_VERSION from PyPI (about 530 MB, headers + CPU libraries are kept)"
  DL="$DEPS/download"
  mkdir -p "$DL"
  # --no-index off and find-links ignored: the pinned version comes from PyPI itself. The older
  # manylinux tags are needed or the nvidia wheels are not found (cupti is tagged 2_25).
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.11 \
      --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_25_x86_64 \
      --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d "$DL" \
      "torch==$TORCH_VERSION" "$CUDA_RUNTIME_WHEEL" "$CUDA_CUPTI_WHEEL" \
    || fail "downloading torch==$TORCH_VERSION from PyPI failed; check the network or set LIBTORCH=/path/to/torch"
  whl=$(ls "$DL"/torch-"$TORCH_VERSION"*.whl 2>/dev/null | head -1)
  [[ -n "$whl" ]] || fail "torch wheel not found in $DL after download"
  rm -rf "$DEPS/site.tmp"; mkdir -p "$DEPS/site.tmp"
  say "extracting headers and CPU libraries"
  # Only what a CPU build links and loads; libtorch_cuda.so stays in the wheel (see README, GPU).
  (cd "$DEPS/site.tmp" && python3 - "$whl" "$DL" <<'PY'
import sys, zipfile, glob, os
whl, dl = sys.argv[1], sys.argv[2]
keep_libs = ("libtorch_cpu.so", "libc10.so", "libtorch.so", "libtorch_global_deps.so", "libgomp")
with zipfile.ZipFile(whl) as z:
    for n in z.namelist():
        if n.startswith("torch/include/") or (n.startswith("torch/lib/") and os.path.basename(n).startswith(keep_libs)):
            z.extract(n, ".")
for w in glob.glob(os.path.join(dl, "nvidia_cuda_*.whl")):
    with zipfile.ZipFile(w) as z:
        for n in z.namelist():
            if "/lib/" in n and ".so" in n:
                z.extract(n, ".")
for p in glob.glob("torch/lib/*.so*") + glob.glob("nvidia/**/*.so*", recursive=True):
    os.chmod(p, 0o755)
PY
  ) || fail "extracting $whl failed"
  [[ -f "$DEPS/site.tmp/torch/lib/libtorch_cpu.so" ]] || fail "libtorch_cpu.so missing after extraction"
  touch "$DEPS/site.tmp/.torch-$TORCH_VERSION"
  rm -rf "$DEPS/site"; mv "$DEPS/site.tmp" "$DEPS/site"
  rm -rf "$DL"
  say "libtorch $TORCH_VERSION ready in .deps/site/torch"
fi

# ---------------------------------------------------------------- pose models
# BlazePose's detector and landmark models (Apache 2.0), from mediapipe's wheel on PyPI: versions
# after 0.10.21 ship no models. Only the two .tflite files are kept (.deps/models); the wheel and
# both files are checked against pinned SHA-256 sums, so a changed upload is refused.
MODELS="$DEPS/models"
MEDIAPIPE_WHEEL="mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl"
MEDIAPIPE_SHA256="05dc4a9e593655a79558d05d6227d31018c2537a4bd3362b51e230cf22aecfe3"
POSE_MODELS="pose_detection.tflite:9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c pose_landmark_full.tflite:e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f"
models_ok() {
  local entry
  for entry in $POSE_MODELS; do
    [[ "$(sha256sum "$1/${entry%%:*}" 2>/dev/null | cut -d' ' -f1)" == "${entry##*:}" ]] || return 1
  done
}
if models_ok "$MODELS"; then
  say "pose models present (.deps/models: BlazePose detector and landmark, checksums match)"
else
  say "fetching the BlazePose models from mediapipe==0.10.21 on PyPI (a 36 MB wheel; two files are kept)"
  DL="$DEPS/download"
  mkdir -p "$DL"
  [[ -f "$DL/$MEDIAPIPE_WHEEL" ]] || python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.11 \
      --implementation cp --platform manylinux_2_28_x86_64 -d "$DL" "mediapipe==0.10.21" \
    || fail "downloading mediapipe==0.10.21 from PyPI failed (the pose models come from it); check the network"
  [[ "$(sha256sum "$DL/$MEDIAPIPE_WHEEL" | cut -d' ' -f1)" == "$MEDIAPIPE_SHA256" ]] \
    || fail "$DL/$MEDIAPIPE_WHEEL does not have the pinned SHA-256; delete it and run again"
  rm -rf "$MODELS.tmp"; mkdir -p "$MODELS.tmp"
  python3 - "$DL/$MEDIAPIPE_WHEEL" "$MODELS.tmp" <<'PY'
import sys, zipfile, os
wheel, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    for name in ("mediapipe/modules/pose_detection/pose_detection.tflite", "mediapipe/modules/pose_landmark/pose_landmark_full.tflite"):
        with open(os.path.join(out, os.path.basename(name)), "wb") as f:
            f.write(z.read(name))
PY
  models_ok "$MODELS.tmp" || fail "the pose models extracted from $MEDIAPIPE_WHEEL do not have their pinned SHA-256"
  rm -rf "$MODELS"; mv "$MODELS.tmp" "$MODELS"
  say "pose models ready in .deps/models"
fi

# ---------------------------------------------------------------- Python tools for interop tests
if [[ "${VIDPRED_NO_PYENV:-0}" != 1 ]]; then
  PY="$DEPS/pyenv/bin/python"
  if [[ -x "$PY" ]] && "$PY" -c "import numpy, safetensors, PIL, tensorboard" 2>/dev/null; then
    say "Python interop tools present (.deps/pyenv: numpy safetensors Pillow tensorboard)"
  else
    say "creating .deps/pyenv with numpy, safetensors, Pillow, tensorboard (interop tests only)"
    [[ -x "$PY" ]] || python3 -m venv "$DEPS/pyenv" || fail "python3 -m venv failed (apt-get install python3-venv)"
    "$PY" -m pip install -q numpy safetensors Pillow tensorboard || fail "pip install numpy safetensors Pillow tensorboard failed"
  fi
  # PyTorch itself, only for the test that loads VidPred's .ckpt exports in PyTorch: its CPU build
  # from a local wheel folder (TORCH_WHEELS, default /opt/wheels) or PyTorch's CPU package index.
  # PyPI's own torch is the CUDA build (several GB of nvidia-* packages), so where neither source
  # is reachable this is skipped with a warning, and that one test reports itself skipped.
  if "$PY" -c "import torch" 2>/dev/null; then
    say "PyTorch present in .deps/pyenv ($("$PY" -c 'import torch; print(torch.__version__)'))"
  else
    WHEELS="${TORCH_WHEELS:-/opt/wheels}"
    if compgen -G "$WHEELS/torch-*.whl" >/dev/null; then
      say "installing PyTorch (CPU build) into .deps/pyenv from $WHEELS"
      # --no-index first: the local CPU wheel, never a newer CUDA one from PyPI; then its dependencies.
      { "$PY" -m pip install -q --no-index --find-links "$WHEELS" --no-deps torch \
          && "$PY" -m pip install -q --find-links "$WHEELS" torch; } || say "WARNING: pip install torch from $WHEELS failed"
    else
      say "installing PyTorch $TORCH_VERSION (CPU build, about 200 MB) into .deps/pyenv from download.pytorch.org"
      # That index alone (it hosts torch's dependencies too): with PyPI as an extra index, pip
      # would fall back to PyPI's CUDA build and its nvidia-* packages.
      "$PY" -m pip install -q --retries 1 --timeout 30 --index-url https://download.pytorch.org/whl/cpu "torch==$TORCH_VERSION" \
        || say "WARNING: PyTorch's CPU build could not be installed (no local wheel, no access to download.pytorch.org): the test that loads .ckpt exports in PyTorch will report itself skipped (TORCH_WHEELS=DIR names a folder holding a torch CPU wheel)"
    fi
  fi
fi
say "done"
