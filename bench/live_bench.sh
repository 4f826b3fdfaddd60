#!/usr/bin/env bash
# Live capture benchmark: tcpreplay sends the HTTP bench capture at rising rates (--mbps) into a
# veth whose peer, in a namespace of its own, is captured by `eastwatch -i eth0` (libpcap,
# TPACKET_V3) or by DPDK's AF_PACKET PMD (`--dpdk`, net_af_packet on eth0, no hugepages), with 1
# and 2 workers. Each rate is a fresh eastwatch run: start, replay, 1 s for the ring's last blocks,
# SIGTERM, then the final stats record. Per rate it prints the frames tcpreplay sent, those the
# capture received (stats.capture.kernel_packets), kernel drops (pcap_stats ps_drop, or
# rte_eth_stats imissed), worker ring drops (stats.log capture.ring-drops), frames sent but never
# received (sent - received: lost before the capture counted them, e.g. in the AF_PACKET PMD's
# socket, whose drops this DPDK's net_af_packet does not report as imissed) and alerts; a mode
# stops climbing at the first rate with any loss, and its highest loss-free rate is summarised.
# The kernel ring is capture.buffer-size (16mb here, below the 64mb default) and, for DPDK,
# net_af_packet's framecnt=8192 frames of 2 KB (its default of 512 loses frames at any rate on a
# busy machine), so the capture cannot hide in a ring: use the full capture (run_bench.sh without
# --small, 200 MB) for sustained rates. Needs root, iproute2 and tcpreplay; the capture comes from bench/run_bench.sh.
# usage: bench/live_bench.sh [BUILD_DIR] [--small] [--rates "100 200 ... max"] [--buffer SIZE]
#                            [--modes "pcap dpdk"] [--workers "1 2"]
#        EASTWATCH_BIN=PATH runs another binary
set -euo pipefail
cd "$(dirname "$0")/.."
build="build"
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then build="$1"; shift; fi
sessions=16717
rates="25 50 100 200 400 800 1600 max"
buffer="16mb"
af_frames=8192  # net_af_packet's socket ring: frames of 2 KB (16 MB, as the libpcap ring)
modes="pcap dpdk"
worker_counts="1 2"
while [ $# -gt 0 ]; do
  case "$1" in
    --small) sessions=1700 ;;
    --rates) rates="$2"; shift ;;
    --buffer) buffer="$2"; shift ;;
    --modes) modes="$2"; shift ;;
    --workers) worker_counts="$2"; shift ;;
    *) echo "usage: $0 [BUILD_DIR] [--small] [--rates \"R ...\"] [--buffer SIZE] [--modes \"pcap dpdk\"] [--workers \"1 2\"]" >&2
       exit 2 ;;
  esac
  shift
done
bin="${EASTWATCH_BIN:-$build/sensor/main/eastwatch}"
capture="$PWD/bench/out/http-$sessions.pcap"
rules="$PWD/bench/out/rules-3000.rules"
[ "$(id -u)" = 0 ] || { echo "live_bench: needs root (namespaces, veth, AF_PACKET)" >&2; exit 2; }
command -v tcpreplay >/dev/null || { echo "live_bench: needs tcpreplay (packaging/scripts/install-deps.sh)" >&2; exit 2; }
[ -x "$bin" ] || { echo "live_bench: $bin missing: build first" >&2; exit 2; }
[ -f "$capture" ] && [ -f "$rules" ] || {
  echo "live_bench: run bench/run_bench.sh $build$([ "$sessions" = 1700 ] && echo " --small") once to make $capture" >&2; exit 2; }

ns="ewlb$$"
out=$(mktemp -d)
cleanup() {
  [ -n "${sensor_pid:-}" ] && kill "$sensor_pid" 2>/dev/null || true
  ip link del "$ns-tx" 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$out" "/var/run/dpdk/$ns"
}
trap cleanup EXIT
ip netns add "$ns"
ip link add "$ns-tx" type veth peer name eth0 netns "$ns"
for dev in "$ns-tx"; do sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=1"; ip link set "$dev" up; done
ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
ip -n "$ns" link set eth0 up
ip -n "$ns" link set lo up

# One run: mode, workers, rate (Mbit/s or max); prints "actual_mbps sent received kernel_drops
# ring_drops alerts" (actual: the rate tcpreplay reports it reached).
run_one() {
  local mode=$1 workers=$2 rate=$3
  rm -rf "$out/log" && mkdir -p "$out/log"
  local args=(-S "$rules" -l "$out/log" --workers "$workers" --set "capture.buffer-size=$buffer")
  if [ "$mode" = pcap ]; then
    args+=(-i eth0)
  else
    args+=(--dpdk --set "capture.dpdk.ports=[net_af_packet0]"
           --set "capture.dpdk.eal-args=[--no-huge, --no-pci, -m, \"1024\", --file-prefix, $ns, --log-level, \"*:error\", --vdev, \"net_af_packet0,iface=eth0,blocksz=4096,framesz=2048,framecnt=$af_frames\"]")
  fi
  ip netns exec "$ns" "$bin" "${args[@]}" >"$out/stdout" 2>"$out/stderr" &
  sensor_pid=$!
  for _ in $(seq 300); do  # up to 30 s for the rules and the capture to be ready
    grep -q "SIGINT/SIGTERM to stop" "$out/stderr" 2>/dev/null && break
    kill -0 "$sensor_pid" 2>/dev/null || break
    sleep 0.1
  done
  grep -q "SIGINT/SIGTERM to stop" "$out/stderr" || {
    kill "$sensor_pid" 2>/dev/null; echo "live_bench: eastwatch did not start: $(cat "$out/stderr")" >&2; exit 1; }
  local speed=(--mbps "$rate")
  [ "$rate" = max ] && speed=(--topspeed)
  local report sent actual
  report=$(tcpreplay -i "$ns-tx" "${speed[@]}" "$capture" 2>&1) || true
  sent=$(awk '/Actual:/ { print $2; exit }' <<<"$report")
  actual=$(awk '/Rated:/ { for (i = 1; i < NF; i++) if ($(i + 1) ~ /^Mbps/) { print $i; exit } }' <<<"$report")
  sleep 1
  kill -TERM "$sensor_pid"
  wait "$sensor_pid" || { echo "live_bench: eastwatch failed: $(cat "$out/stderr")" >&2; exit 1; }
  sensor_pid=""
  python3 - "$out/log" "$sent" "$actual" <<'EOF'
import json, os, sys
log, sent, actual = sys.argv[1], sys.argv[2], sys.argv[3]
stats, alerts = {}, 0
for line in open(os.path.join(log, "eve.json")):
    record = json.loads(line)
    if record["event_type"] == "alert":
        alerts += 1
    elif record["event_type"] == "stats":
        stats = record["stats"]
ring = 0
for line in open(os.path.join(log, "stats.log")):
    parts = [p.strip() for p in line.split("|")]
    if len(parts) == 3 and parts[0] == "capture.ring-drops" and parts[2].isdigit():
        ring = int(parts[2])  # the last block's value
capture = stats.get("capture", {})
print(actual, sent, capture.get("kernel_packets", 0), capture.get("kernel_drops", 0), ring, alerts)
EOF
}

frames=$(python3 -c "
import sys; d=open(sys.argv[1],'rb').read(); o=24; n=0
while o+16<=len(d): o+=16+int.from_bytes(d[o+8:o+12],'little'); n+=1
print(n)" "$capture")
echo "live_bench: $capture ($frames frames), 3,000 rules, capture.buffer-size $buffer; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf "| mode | workers | Mbit/s asked | Mbit/s sent | frames sent | received | kernel drops | ring drops | not received | alerts |\n|---|---|---|---|---|---|---|---|---|---|\n"
summary=()
for mode in $modes; do
  for workers in $worker_counts; do
    best="none"
    for rate in $rates; do
      read -r actual sent received kdrops rdrops alerts < <(run_one "$mode" "$workers" "$rate")
      printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n" "$mode" "$workers" "$rate" "$actual" "$sent" \
        "$received" "$kdrops" "$rdrops" "$((sent - received))" "$alerts"
      if [ "$kdrops" != 0 ] || [ "$rdrops" != 0 ] || [ "$received" -lt "$sent" ]; then break; fi
      best="$rate"
    done
    summary+=("$mode, $workers worker(s): highest loss-free rate asked: $best Mbit/s")
  done
done
printf '%s\n' "${summary[@]}"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
