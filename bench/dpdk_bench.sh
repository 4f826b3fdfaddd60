#!/usr/bin/env bash
# DPDK replay benchmark: the HTTP bench capture read through DPDK's pcap PMD (net_pcap, no
# hugepages) against `eastwatch -r` on the same capture and rules, in the same run, 1 and 2
# workers, best of N. A DPDK run ends capture.dpdk.idle-exit (1 s) after the last frame, and
# rte_eal_init costs time too: the DPDK figure is wall time minus that 1 s, start-up included.
# usage: bench/dpdk_bench.sh [BUILD_DIR] [--runs N]   (as root; run_bench.sh makes the capture;
#        EASTWATCH_BIN=PATH runs another binary)
set -euo pipefail
cd "$(dirname "$0")/.."
build="build"
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then build="$1"; shift; fi
runs=3
[ "${1:-}" = "--runs" ] && runs="$2"
bin="${EASTWATCH_BIN:-$build/sensor/main/eastwatch}"
capture="$PWD/bench/out/http-16717.pcap"
rules="bench/out/rules-3000.rules"
[ -x "$bin" ] || { echo "dpdk_bench: $bin missing: build first" >&2; exit 2; }
[ -f "$capture" ] && [ -f "$rules" ] || { echo "dpdk_bench: run bench/run_bench.sh $build once to make $capture" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out" /var/run/dpdk/ewbench*' EXIT
packets=$(python3 -c "
import sys; d=open(sys.argv[1],'rb').read(); o=24; n=0
while o+16<=len(d): o+=16+int.from_bytes(d[o+8:o+12],'little'); n+=1
print(n)" "$capture")

best() {  # best wall seconds of $runs runs of "$@"
  local best_ns=0
  for _ in $(seq "$runs"); do
    rm -f "$out"/*.json "$out"/*.log
    local start=$(date +%s%N)
    "$@" >/dev/null 2>&1
    local ns=$(( $(date +%s%N) - start ))
    if [ "$best_ns" = 0 ] || [ "$ns" -lt "$best_ns" ]; then best_ns=$ns; fi
  done
  echo "$best_ns"
}

row() { awk -v m="$1" -v w="$2" -v ns="$3" -v a="$4" -v p="$packets" \
  'BEGIN { printf "| %s | %d | %.3f | %.0f | %s |\n", m, w, ns / 1e9, p / (ns / 1e9), a }'; }

printf "| mode | workers | wall s | packets/s | alerts |\n|---|---|---|---|---|\n"
for workers in 1 2; do
  ns=$(best "$bin" -q -r "$capture" -S "$rules" -l "$out" --workers "$workers")
  alerts=$(grep -c '"event_type":"alert"' "$out/eve.json" || true)
  row "-r" "$workers" "$ns" "$alerts"
  ns=$(best "$bin" -q --dpdk --workers "$workers" -S "$rules" -l "$out" --set capture.dpdk.idle-exit=1 \
        --set "capture.dpdk.eal-args=[--no-huge, --no-pci, -m, \"1024\", --file-prefix, ewbench, --log-level, \"*:error\", --vdev, \"net_pcap0,rx_pcap=$capture\"]" \
        --set "capture.dpdk.ports=[net_pcap0]")
  ns=$(( ns - 1000000000 ))
  alerts=$(grep -c '"event_type":"alert"' "$out/eve.json" || true)
  row "dpdk net_pcap" "$workers" "$ns" "$alerts"
done
