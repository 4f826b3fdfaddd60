#!/usr/bin/env bash
# Replay benchmark: eastwatch's wall-clock throughput (start-up included) on a synthetic HTTP
# capture with N random literal rules, beside the raw Hyperscan block scan of the same payload
# bytes with the same literals, measured in the same run (these machines are noisy: compare
# the ratio, not absolute numbers across runs). Each configuration cold (empty Hyperscan cache)
# and warm (the cache the cold run wrote: a restart).
# usage: bench/run_bench.sh [BUILD_DIR] [--small] [--rules N] [--runs N] [--workers N] [--csv FILE] [--et]
#                           [--packet-only] [--no-app-layer]
#   --workers N: eastwatch --workers N (default 1).
#   --csv FILE: also append the cold and warm rows to FILE (header written when it is new), the
#         input of bench/plot.py.
#   --et: all of ../shared/rules/et-open instead of random literals (the rules Eastwatch cannot
#         load yet are reported and skipped, as at start-up); raw_scan then scans their contents.
#   --packet-only: the same rules as tcp-pkt (packets only, no stream matching; sessions are
#         still tracked): the cost of stream reassembly and matching is the difference.
#   --no-app-layer: app-layer.enabled=no (no protocol detection, HTTP/TLS/DNS parsing or
#         app-layer rules): beside a run without it, the cost of the application layer.
set -euo pipefail
cd "$(dirname "$0")/.."
build="build"
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then build="$1"; shift; fi
sessions=16717
rules=3000
runs=3
et=0
packet_only=0
extra=()
workers=1
csv=""
while [ $# -gt 0 ]; do
  case "$1" in
    --small) sessions=1700 ;;
    --rules) rules="$2"; shift ;;
    --runs) runs="$2"; shift ;;
    --et) et=1 ;;
    --packet-only) packet_only=1 ;;
    --no-app-layer) extra=(--set app-layer.enabled=no) ;;
    --workers) workers="$2"; shift ;;
    --csv) csv="$2"; shift ;;
    *) echo "usage: $0 [BUILD_DIR] [--small] [--rules N] [--runs N]" >&2; exit 2 ;;
  esac
  shift
done
for tool in eastwatch gen_http_capture gen_rules raw_scan; do
  path="$build/bench/$tool"; [ "$tool" = eastwatch ] && path="$build/sensor/main/eastwatch"
  [ -x "$path" ] || { echo "run_bench: $path missing: build first (packaging/scripts/build.sh release)" >&2; exit 2; }
done

out=bench/out
mkdir -p "$out"
rules_file="$out/rules-$rules.rules"
planted="$out/planted-$rules.txt"
capture="$out/http-$sessions.pcap"
[ -f "$rules_file" ] && [ -f "$planted" ] || "$build/bench/gen_rules" --out "$rules_file" --count "$rules" --plant "$planted" --planted 34
[ -f "$capture" ] && [ "$capture" -nt "$planted" ] || "$build/bench/gen_http_capture" --out "$capture" --sessions "$sessions" --inject "$planted"

rule_args=(-S "$rules_file")
if [ "$et" = 1 ]; then
  et_dir="../shared/rules/et-open"
  [ -d "$et_dir" ] || { echo "run_bench: $et_dir missing" >&2; exit 2; }
  rule_args=()
  for f in "$et_dir"/*.rules; do rule_args+=(-S "$f"); done
  rules_file="$out/et-open-all.rules"
  cat "$et_dir"/*.rules > "$rules_file"
  rules="ET Open, all files: $( ("$build/sensor/main/eastwatch" -T "${rule_args[@]}" || true) | tail -1)"
fi

if [ "$packet_only" = 1 ]; then
  pkt_rules="$out/packet-only.rules"
  if [ "$et" = 1 ]; then cat "$et_dir"/*.rules; else cat "$rules_file"; fi |
    sed -E 's/^(alert|drop|pass|reject) tcp /\1 tcp-pkt /' > "$pkt_rules"
  rule_args=(-S "$pkt_rules")
  rules="$rules, as tcp-pkt (packets only)"
fi

# Each configuration twice: cold (an empty Hyperscan cache: every database compiled, as on a
# sensor's first start with new rules) and warm (the cache the cold run wrote: a restart).
cache_root="$(mktemp -d)"
trap 'rm -rf "$cache_root"' EXIT
measure() {  # measure cold|warm -> sets <mode>_wall, <mode>_rss, alerts, packets (best of $runs)
  local mode="$1" best="" best_rss="" run logdir t0 t1 wall rss_kb cache
  for run in $(seq "$runs"); do
    logdir="$(mktemp -d)"
    cache="$cache_root/$mode-$run"
    if [ "$mode" = warm ]; then cache="$cache_root/cold-$run"; fi
    mkdir -p "$cache"
    # Wall clock in nanoseconds around the whole process (start-up included); /usr/bin/time for
    # the peak RSS (its own clock has only 10 ms steps).
    t0=$(date +%s%N)
    /usr/bin/time -f "%M" -o "$logdir/time" "$build/sensor/main/eastwatch" -q -r "$capture" "${rule_args[@]}" \
      ${extra[@]+"${extra[@]}"} --workers "$workers" --set detect.hs-cache-dir="$cache" -l "$logdir" 2>/dev/null
    t1=$(date +%s%N)
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')
    read -r rss_kb < "$logdir/time"
    alerts=$(grep -c '"event_type":"alert"' "$logdir/eve.json" || true)
    # The final stats record's decoder.pkts (a long run also writes periodic ones before it).
    packets=$(grep '"event_type":"stats"' "$logdir/eve.json" | tail -1 | grep -o '"decoder":{"pkts":[0-9]*' | cut -d: -f3)
    if [ -z "$best" ] || awk "BEGIN{exit !($wall < $best)}"; then best=$wall; best_rss=$rss_kb; fi
    rm -rf "$logdir"
  done
  printf -v "${mode}_wall" '%s' "$best"
  printf -v "${mode}_rss" '%s' "$best_rss"
}
measure cold
cold_alerts=$alerts
measure warm
[ "$alerts" = "$cold_alerts" ] || echo "run_bench: cold and warm runs wrote different alert counts ($cold_alerts, $alerts)" >&2
raw=$("$build/bench/raw_scan" "$capture" "$rules_file")
frame_bytes=$(echo "$raw" | sed -E 's/.*frame_bytes=([0-9]+).*/\1/')
raw_gbps=$(echo "$raw" | sed -E 's/.*gbps=([0-9.]+).*/\1/')
raw_matches=$(echo "$raw" | sed -E 's/.*matches=([0-9]+).*/\1/')

awk -v p="$packets" -v b="$frame_bytes" -v cw="$cold_wall" -v ww="$warm_wall" -v crss="$cold_rss" -v wrss="$warm_rss" \
    -v a="$alerts" -v raw="$raw_gbps" -v rm="$raw_matches" -v r="$rules" -v cap="$capture" \
    -v noapp="${extra[*]+, app layer off}" 'BEGIN {
  printf "capture %s: %d packets, %.1f MB of frames; rules: %s%s (best of runs)\n", cap, p, b / 1e6, r, noapp
  printf "%-20s %12s %10s %12s %10s %12s %10s %14s %10s\n", "engine", "packets/s", "Gbit/s", "ns/packet", "wall s", "peak RSS MiB", "alerts", "raw HS Gbit/s", "ratio"
  row("eastwatch, cold", cw, crss); row("eastwatch, warm", ww, wrss)
  printf "cold: empty Hyperscan cache (every database compiled); warm: the cache the cold run wrote\n"
  printf "raw Hyperscan scan: %d matches (literal hits, same bytes)\n", rm
}
function row(name, w, rss,   gbps) {
  if (w < 0.0001) w = 0.0001
  gbps = b * 8 / w / 1e9
  printf "%-20s %12.0f %10.2f %12.1f %10.3f %12.1f %10d %14.2f %10.3f\n", name, p / w, gbps, w * 1e9 / p, w, rss / 1024, a, raw, gbps / raw
}'

if [ -n "$csv" ]; then
  [ -s "$csv" ] || echo "date,engine,sessions,packets,frame_bytes,rules,workers,app_layer,start,wall_s,gbps,raw_gbps,ratio,alerts,peak_rss_mib" > "$csv"
  engine="$("$build/sensor/main/eastwatch" --version | sed -E 's/.*\((.*)\).*/\1/')"
  for mode in cold warm; do
    wall_var="${mode}_wall"; rss_var="${mode}_rss"
    awk -v d="$(date -u +%F)" -v e="$engine" -v s="$sessions" -v p="$packets" -v b="$frame_bytes" -v r="$rules" \
        -v wk="$workers" -v app="${extra[*]+off}" -v m="$mode" -v w="${!wall_var}" -v raw="$raw_gbps" -v a="$alerts" \
        -v rss="${!rss_var}" 'BEGIN {
      gbps = b * 8 / w / 1e9; gsub(/,/, "", r)
      printf "%s,%s,%d,%d,%d,%s,%d,%s,%s,%.4f,%.3f,%.3f,%.3f,%d,%.1f\n", d, e, s, p, b, r, wk, app == "" ? "on" : app, m, w, gbps, raw, gbps / raw, a, rss / 1024
    }' >> "$csv"
  done
fi
