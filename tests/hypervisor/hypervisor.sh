#!/bin/bash
# A test hypervisor in network namespaces: two guests on a Linux bridge (the vSwitch) and a
# sensor VM whose interface receives a port mirror of guest 1's port (tc clsact + u32 +
# mirred, ingress and egress: the SPAN a vSwitch gives its sensor VM).
#
#   hypervisor.sh up PREFIX     creates PREFIX-host (bridge), PREFIX-g1 (10.77.0.1), PREFIX-g2
#                               (10.77.0.2) and PREFIX-sensor (eth0, no address, sees the mirror)
#   hypervisor.sh down PREFIX   removes them (idempotent; safe after a partial `up`)
#   hypervisor.sh respan PREFIX (after the sensor's port was deleted) creates the sensor's port
#                               and the mirror again, as a hypervisor does for a VM's new vNIC
#
# Needs root, iproute2 (ip, tc). The kernel has no matchall/flower here, so the mirror filter is
# `u32 match u32 0 0` (every frame).
set -euo pipefail

cmd=${1:?usage: hypervisor.sh up|down|respan PREFIX}
p=${2:?usage: hypervisor.sh up|down PREFIX}
host="$p-host" g1="$p-g1" g2="$p-g2" sensor="$p-sensor"

down() {
  for ns in "$g1" "$g2" "$sensor" "$host"; do
    ip netns del "$ns" 2>/dev/null || true
  done
}

up() {
  down
  for ns in "$host" "$g1" "$g2" "$sensor"; do ip netns add "$ns"; done
  in_host() { ip -n "$host" "$@"; }
  in_host link add br0 type bridge
  in_host link set br0 up
  # One veth per guest: eth0 inside the guest, gN on the bridge.
  local i=1
  for ns in "$g1" "$g2"; do
    in_host link add "g$i" type veth peer name eth0 netns "$ns"
    in_host link set "g$i" master br0 up
    ip -n "$ns" addr add "10.77.0.$i/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
    i=$((i + 1))
  done
  span
}

# The sensor's port: not on the bridge, only fed by the mirror of guest 1's port (both directions).
span() {
  ip netns exec "$host" tc qdisc del dev g1 clsact 2>/dev/null || true
  ip -n "$host" link add span0 type veth peer name eth0 netns "$sensor"
  ip -n "$host" link set span0 up
  ip -n "$sensor" link set eth0 up
  ip -n "$sensor" link set lo up
  ip netns exec "$host" tc qdisc add dev g1 clsact
  ip netns exec "$host" tc filter add dev g1 ingress protocol all u32 match u32 0 0 \
    action mirred egress mirror dev span0
  ip netns exec "$host" tc filter add dev g1 egress protocol all u32 match u32 0 0 \
    action mirred egress mirror dev span0
}

case "$cmd" in
  up) up ;;
  down) down ;;
  respan) span ;;
  *) echo "usage: hypervisor.sh up|down|respan PREFIX" >&2; exit 2 ;;
esac
