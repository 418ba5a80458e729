# Sourced by the GPU benchmarks (gpu-check.sh, gpu-quality.sh) after they set OUT and WORK:
# `summary LINE` prints a line and appends it to $OUT/summary.txt, and VIDPRED is the launcher of
# the newest bundle in dist/, unpacked into $WORK, unless it is set already.
summary() { echo "$*" | tee -a "$OUT/summary.txt"; }

if [[ -z "${VIDPRED:-}" ]]; then
  archive="$(ls -t dist/vidpred-*-linux-x86_64.tar.gz 2>/dev/null | head -1)"
  [[ -n "$archive" ]] || { summary "FAILED: no dist/vidpred-*.tar.gz (make bundle, and carry dist/)"; exit 1; }
  tar -C "$WORK" -xzf "$archive"
  VIDPRED="$WORK/$(basename "$archive" .tar.gz)/vidpred"
fi
