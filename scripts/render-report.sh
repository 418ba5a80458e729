#!/usr/bin/env bash
# Renders a run's HTML report to a PNG with headless chromium, and checks that the page loads
# without reaching for anything outside its run folder (no network request; the only files it may
# load are the run's own GIFs, which the report links instead of embedding when they are large).
#
#   scripts/render-report.sh RUN OUT.png [--charts]
#
#   RUN        a run folder; RUN/report/index.html is made with `vidpred report --run RUN` when missing
#   OUT.png    the screenshot: 1400 px wide, as tall as the page (REPORT_HEIGHT=N forces a height)
#   --charts   also rasterise each chart RUN/report/*.svg to RUN/report/png/*.png at its own size
#
# Installs Debian's chromium when it is missing (idempotent; VIDPRED_SKIP_APT=1 never calls apt-get
# and fails with the command to run instead). Exit status 0 only when every render succeeded and
# the page made no request.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say()  { echo "[render-report] $*"; }
fail() { echo "[render-report] ERROR: $*" >&2; exit 1; }

[[ $# -ge 2 ]] || fail "usage: scripts/render-report.sh RUN OUT.png [--charts]"
RUN="$1"; OUT="$2"; CHARTS="${3:-}"
[[ -d "$RUN" ]] || fail "$RUN is not a folder: pass a run folder made by \`vidpred train --out\`"
RUN="$(cd "$RUN" && pwd)"

# ---------------------------------------------------------------- chromium
find_chromium() {
  for name in chromium chromium-browser google-chrome; do
    command -v "$name" 2>/dev/null && return 0
  done
  return 1
}
if ! CHROMIUM="$(find_chromium)"; then
  if [[ "${VIDPRED_SKIP_APT:-0}" == 1 ]]; then
    fail "chromium is not installed (install it: apt-get install -y chromium)"
  fi
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  say "installing chromium (Debian package, about 100 MB)"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq || fail "apt-get update failed (network? run it by hand to see why)"
  $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null || fail "apt-get install chromium failed"
  CHROMIUM="$(find_chromium)" || fail "chromium installed but not found on PATH"
fi

# ---------------------------------------------------------------- the report
PAGE="$RUN/report/index.html"
if [[ ! -f "$PAGE" ]]; then
  VIDPRED=""
  for candidate in "$ROOT/.build/release/vidpred" "$ROOT/.build/debug/vidpred" "$(command -v vidpred || true)"; do
    [[ -n "$candidate" && -x "$candidate" ]] && { VIDPRED="$candidate"; break; }
  done
  [[ -n "$VIDPRED" ]] || fail "$PAGE is missing and no vidpred binary was found: run \`swift build\` or \`vidpred report --run $RUN\` first"
  say "making the report: $VIDPRED report --run $RUN"
  "$VIDPRED" report --run "$RUN" >/dev/null
fi

# One headless render: no network (every host name fails to resolve), no GPU, no sandbox
# (containers run as root). chromium's network log shows every request the page started
# (initiator = the page; the browser's own background requests say "not an origin"): there must
# be none, since the page references nothing outside itself.
render() {  # render URL OUT WIDTH HEIGHT
  local url="$1" out="$2" width="$3" height="$4"
  rm -f "$out" "$NETLOG"
  "$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run --disable-extensions \
      --disable-background-networking --disable-component-update --disable-sync --mute-audio \
      --host-resolver-rules="MAP * ~NOTFOUND" --default-background-color=ffffffff \
      --log-net-log="$NETLOG" --window-size="$width,$height" --screenshot="$out" "$url" >"$LOG" 2>&1 || true
  [[ -s "$out" ]] || { cat "$LOG" >&2; fail "chromium wrote no screenshot for $url (its log is above)"; }
  local requests
  requests=$(grep '"initiator"' "$NETLOG" 2>/dev/null | grep -v '"initiator":"not an origin"' | grep -o '"url":"[^"]*"' \
             | grep -v "\"url\":\"file://$RUN/" || true)
  if [[ -n "$requests" ]]; then
    echo "$requests" >&2
    fail "the page at $url requested the resources above: it must not reference anything outside itself"
  fi
}

# References to other files (which need no network) are caught from the page's text: every src,
# href and url(...) must point inside the page (data: URIs or #fragments) or, by a relative path,
# to a file that exists inside the run folder.
check_references() {  # check_references FILE
  local outside="" ref target
  while IFS= read -r ref; do
    [[ -z "$ref" ]] && continue
    if [[ "$ref" != *:* && "$ref" != /* ]]; then
      target="$(cd "$(dirname "$1")" && realpath -m "$ref")"
      [[ "$target" == "$RUN"/* && -f "$target" ]] && continue
    fi
    outside+="$ref"$'\n'
  done < <(grep -oE '(src|href)="[^"]*"|url\([^)]*\)' "$1" | grep -vE '^(src|href)="(data:|#)|^url\((#|data:)' \
             | sed -E 's/^(src|href)="([^"]*)"$/\2/; s/^url\((.*)\)$/\1/' || true)
  if [[ -n "$outside" ]]; then
    printf '%s' "$outside" | head -5 >&2
    fail "$1 references files outside its run folder (above)"
  fi
}

mkdir -p "$(dirname "$OUT")"
OUT_ABS="$(cd "$(dirname "$OUT")" && pwd)/$(basename "$OUT")"
LOG="$(mktemp)"; NETLOG="$(mktemp)"; MEASURE="$(mktemp --suffix=.html)"
trap 'rm -f "$LOG" "$NETLOG" "$MEASURE"' EXIT
check_references "$PAGE"

# The page's height at 1400 px: a copy with one line of script that puts it in the title, read
# back with --dump-dom (the report itself has no script). Falls back to 6000 px.
HEIGHT="${REPORT_HEIGHT:-}"
if [[ -z "$HEIGHT" ]]; then
  sed 's|</body>|<script>document.title = "HEIGHT=" + document.documentElement.scrollHeight;</script></body>|' "$PAGE" >"$MEASURE"
  HEIGHT=$("$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run --disable-extensions \
             --host-resolver-rules="MAP * ~NOTFOUND" --window-size=1400,1000 --dump-dom "file://$MEASURE" 2>/dev/null \
           | grep -o 'HEIGHT=[0-9]*' | head -1 | cut -d= -f2 || true)
  [[ "$HEIGHT" =~ ^[0-9]+$ && "$HEIGHT" -gt 0 ]] || HEIGHT=6000
fi
say "rendering $PAGE (1400x$HEIGHT)"
render "file://$PAGE" "$OUT_ABS" 1400 "$HEIGHT"
say "screenshot: $OUT_ABS ($(stat -c %s "$OUT_ABS") bytes)"

if [[ "$CHARTS" == "--charts" ]]; then
  mkdir -p "$RUN/report/png"
  for svg in "$RUN"/report/*.svg; do
    [[ -f "$svg" ]] || continue
    # The chart's own size, from its <svg width=".." height=".."> attributes.
    size=$(grep -o -m1 '<svg[^>]*>' "$svg" | sed -E 's/.*width="([0-9.]+)" height="([0-9.]+)".*/\1 \2/')
    w=${size% *}; h=${size#* }
    png="$RUN/report/png/$(basename "${svg%.svg}").png"
    render "file://$svg" "$png" "${w%.*}" "${h%.*}"
    say "chart: $png"
  done
fi
