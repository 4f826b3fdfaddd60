#!/usr/bin/env bash
# Soak: one eastwatch process fed without end for MINUTES (DPDK's pcap PMD with infinite_rx=1
# replays the bench HTTP capture in a loop: no NIC, no hugepages), its resident memory (VmRSS)
# sampled every INTERVAL seconds. Prints the series and whether memory reached a plateau: the
# peak of the last third of the samples within TOLERANCE percent of the peak of the first two
# thirds. eve.json rotates by size (64 MB, 2 kept) so the disk does not fill: rotation is
# soaked too. Flows, streams and app-layer state see the same sessions again and again, with
# wall-clock timestamps, so the tables fill, time out and are reused as in a long live run.
# usage: bench/soak.sh [BUILD_DIR] [--minutes N] [--interval S] [--tolerance PCT] [--workers N]
#        (root, as the other DPDK benchmarks; EASTWATCH_BIN=PATH runs another binary)
set -euo pipefail
cd "$(dirname "$0")/.."
build="build"
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then build="$1"; shift; fi
minutes=10
interval=10
tolerance=5
workers=1
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes="$2"; shift ;;
    --interval) interval="$2"; shift ;;
    --tolerance) tolerance="$2"; shift ;;
    --workers) workers="$2"; shift ;;
    *) echo "usage: $0 [BUILD_DIR] [--minutes N] [--interval S] [--tolerance PCT] [--workers N]" >&2; exit 2 ;;
  esac
  shift
done
bin="${EASTWATCH_BIN:-$build/sensor/main/eastwatch}"
for tool in "$bin" "$build/bench/gen_rules" "$build/bench/gen_http_capture"; do
  [ -x "$tool" ] || { echo "soak: $tool missing: build first (eastwatch gen_rules gen_http_capture)" >&2; exit 2; }
done
mkdir -p bench/out
rules="bench/out/rules-3000.rules"
planted="bench/out/planted-3000.txt"
capture="$PWD/bench/out/http-1700.pcap"
[ -f "$rules" ] && [ -f "$planted" ] || "$build/bench/gen_rules" --out "$rules" --count 3000 --plant "$planted" --planted 34
[ -f "$capture" ] && [ "$capture" -nt "$planted" ] || "$build/bench/gen_http_capture" --out "$capture" --sessions 1700 --inject "$planted"

out=$(mktemp -d)
prefix="ewsoak$$"
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$out" "/var/run/dpdk/$prefix"
}
trap cleanup EXIT

"$bin" -q --dpdk --workers "$workers" -S "$rules" -l "$out" \
  --set outputs.eve.rotate-size=64mb --set outputs.eve.rotate-count=2 --set stats.enabled=no \
  --set "capture.dpdk.eal-args=[--no-huge, --no-pci, -m, \"1024\", --file-prefix, $prefix, --log-level, \"*:error\", --vdev, \"net_pcap0,rx_pcap=$capture,infinite_rx=1\"]" \
  --set "capture.dpdk.ports=[net_pcap0]" 2>"$out/stderr" &
pid=$!

samples=()
start=$(date +%s)
end=$((start + minutes * 60))
echo "soak: eastwatch pid $pid, $minutes min, VmRSS every $interval s (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
printf "| t (s) | VmRSS (MB) |\n|---|---|\n"
while [ "$(date +%s)" -lt "$end" ]; do
  sleep "$interval"
  kill -0 "$pid" 2>/dev/null || { echo "soak: eastwatch ended early:" >&2; cat "$out/stderr" >&2; exit 1; }
  rss_kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
  samples+=("$rss_kb")
  awk -v t="$(( $(date +%s) - start ))" -v kb="$rss_kb" 'BEGIN { printf "| %d | %.1f |\n", t, kb / 1024 }'
done
hwm_kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
kill -TERM "$pid"
wait "$pid" || { echo "soak: eastwatch exited with $?" >&2; cat "$out/stderr" >&2; exit 1; }
pid=""

packets=$(awk -F'|' '$1 ~ /^capture.kernel_packets / {gsub(/ /, "", $3); v=$3} END {print v + 0}' "$out/stats.log")
rotations=$(awk -F'|' '$1 ~ /^output.eve.rotations / {gsub(/ /, "", $3); v=$3} END {print v + 0}' "$out/stats.log")
printf '%s\n' "${samples[@]}" | awk -v tol="$tolerance" -v hwm="$hwm_kb" -v packets="$packets" -v rot="$rotations" '
  { rss[NR] = $1 }
  END {
    n = NR; cut = int(n * 2 / 3)
    if (n < 3) { print "soak: fewer than 3 samples"; exit 1 }
    for (i = 1; i <= n; i++) if (i <= cut) { if (rss[i] > early) early = rss[i] } else if (rss[i] > late) late = rss[i]
    growth = (late - early) * 100 / early
    printf "packets: %d; eve.json rotations: %d; VmHWM %.1f MB\n", packets, rot, hwm / 1024
    printf "peak of the first two thirds %.1f MB, of the last third %.1f MB: %+.2f%% -> %s (tolerance %s%%)\n",
           early / 1024, late / 1024, growth, growth <= tol ? "PLATEAU" : "STILL GROWING", tol
    exit growth <= tol ? 0 : 1
  }'
