#!/bin/bash
# A test hypervisor in network namespaces: three guests vm1..vm3 on a Linux bridge (the vSwitch)
# and a sensor VM whose interface receives a port mirror of every bridge port's ingress (tc
# clsact + u32 + mirred: each frame a guest sends is copied once, as it enters the switch; the
# SPAN a vSwitch gives its sensor VM).
#
#   hypervisor.sh up PREFIX     creates PREFIX-host (bridge br0 with ports vm1..vm3), PREFIX-vm1..3
#                               (eth0 10.77.0.N/24, MAC 02:00:00:77:00:0N) and PREFIX-sensor (eth0,
#                               no address, sees the mirror; its peer is span0 in PREFIX-host)
#   hypervisor.sh down PREFIX   removes them (idempotent; safe after a partial `up`)
#   hypervisor.sh respan PREFIX (after the sensor's port was deleted) creates the sensor's port
#                               and the mirror again, as a hypervisor does for a VM's new vNIC
#
# Needs root, iproute2 (ip, tc). The kernel has no matchall/flower here, so the mirror filter is
# `u32 match u32 0 0` (every frame).
set -euo pipefail

cmd=${1:?usage: hypervisor.sh up|down|respan PREFIX}
p=${2:?usage: hypervisor.sh up|down PREFIX}
host="$p-host" sensor="$p-sensor"
guests=(1 2 3)

down() {
  for ns in "$p-vm1" "$p-vm2" "$p-vm3" "$sensor" "$host"; do
    ip netns del "$ns" 2>/dev/null || true
  done
}

up() {
  down
  for ns in "$host" "$p-vm1" "$p-vm2" "$p-vm3" "$sensor"; do ip netns add "$ns"; done
  in_host() { ip -n "$host" "$@"; }
  in_host link add br0 type bridge
  in_host link set br0 up
  # One veth per guest: eth0 inside the guest, vmN on the bridge.
  for i in "${guests[@]}"; do
    in_host link add "vm$i" type veth peer name eth0 netns "$p-vm$i"
    in_host link set "vm$i" master br0 up
    ip -n "$p-vm$i" link set eth0 address "02:00:00:77:00:0$i"
    ip -n "$p-vm$i" addr add "10.77.0.$i/24" dev eth0
    ip -n "$p-vm$i" link set eth0 up
    ip -n "$p-vm$i" link set lo up
  done
  span
}

# The sensor's port: not on the bridge, only fed by the mirror of every bridge port's ingress
# (what each guest sends; a frame between two guests is copied once, at its sender's port).
span() {
  for i in "${guests[@]}"; do
    ip netns exec "$host" tc qdisc del dev "vm$i" clsact 2>/dev/null || true
  done
  ip -n "$host" link add span0 type veth peer name eth0 netns "$sensor"
  ip -n "$host" link set span0 up
  ip -n "$sensor" link set eth0 up
  ip -n "$sensor" link set lo up
  for i in "${guests[@]}"; do
    ip netns exec "$host" tc qdisc add dev "vm$i" clsact
    ip netns exec "$host" tc filter add dev "vm$i" ingress protocol all u32 match u32 0 0 \
      action mirred egress mirror dev span0
  done
}

case "$cmd" in
  up) up ;;
  down) down ;;
  respan) span ;;
  *) echo "usage: hypervisor.sh up|down|respan PREFIX" >&2; exit 2 ;;
esac
