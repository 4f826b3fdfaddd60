#!/usr/bin/env bash
# Start-up with every ET Open file, cold (empty Hyperscan cache) and warm (the cache written by
# the cold run), best of N each: the whole process (replaying the 107-packet demo capture)
# and the rule preparation eastwatch reports (parse excluded: compile or load the databases,
# build groups and indexes).
# usage: bench/startup.sh [BUILD_DIR] [--runs N]
set -euo pipefail
cd "$(dirname "$0")/.."
build="build"
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then build="$1"; shift; fi
runs=3
[ "${1:-}" = "--runs" ] && runs="$2"
binary="$build/sensor/main/eastwatch"
[ -x "$binary" ] || { echo "startup: $binary missing: build first" >&2; exit 2; }
rule_args=()
for f in ../shared/rules/et-open/*.rules; do rule_args+=(-S "$f"); done
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
run() {  # run CACHE_DIR -> "wall_seconds prepare_seconds"
  local t0 t1 line
  t0=$(date +%s%N)
  line=$("$binary" -r tests/pcaps/guest-to-guest-attack.pcap "${rule_args[@]}" -l "$work" \
           --set detect.hs-cache-dir="$1" 2>&1 | grep "prepared in")
  t1=$(date +%s%N)
  echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }') $(echo "$line" | sed -E 's/.*prepared in ([0-9.]+) s.*/\1/')"
}
best_cold_wall=999; best_cold_prep=999; best_warm_wall=999; best_warm_prep=999
for i in $(seq "$runs"); do
  cache="$work/cache-$i"; mkdir -p "$cache"
  read -r wall prep < <(run "$cache")
  best_cold_wall=$(awk -v a="$wall" -v b="$best_cold_wall" 'BEGIN { print (a < b) ? a : b }')
  best_cold_prep=$(awk -v a="$prep" -v b="$best_cold_prep" 'BEGIN { print (a < b) ? a : b }')
  read -r wall prep < <(run "$cache")
  best_warm_wall=$(awk -v a="$wall" -v b="$best_warm_wall" 'BEGIN { print (a < b) ? a : b }')
  best_warm_prep=$(awk -v a="$prep" -v b="$best_warm_prep" 'BEGIN { print (a < b) ? a : b }')
done
("$binary" -T "${rule_args[@]}" 2>/dev/null || true) | tail -1 | sed "s/^/ET Open, all files: /"
printf "%-6s %14s %14s\n" "start" "process s" "prepare s"
printf "%-6s %14s %14s\n" "cold" "$best_cold_wall" "$best_cold_prep" "warm" "$best_warm_wall" "$best_warm_prep"
awk -v cw="$best_cold_wall" -v ww="$best_warm_wall" -v cp="$best_cold_prep" -v wp="$best_warm_prep" \
  'BEGIN { printf "warm/cold speed-up: process %.1fx, prepare %.1fx\n", cw / ww, cp / wp }'
