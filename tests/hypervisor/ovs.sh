#!/bin/bash
# A test hypervisor on Open vSwitch's userspace datapath (no kernel module): ovsdb-server and
# ovs-vswitchd started from the Debian package with private db/run/log dirs, in network
# namespaces. Three guests on bridge br0 (datapath_type=netdev) and a sensor VM.
#
#   ovs.sh up PREFIX DIR span     PREFIX-vm1..3 (10.78.0.1-3, MACs 02:00:00:78:00:0N) on br0;
#                                 PREFIX-sensor's eth0 (no address) is br0's port span0, the
#                                 output of a mirror with select-all=true
#   ovs.sh up PREFIX DIR erspan   the same guests; the mirror's output is an ERSPAN type II
#                                 tunnel port (session 12) towards the sensor, 192.0.2.2 on
#                                 PREFIX-sensor's eth0, reached through bridge br-phy (its
#                                 internal port holds the underlay address 192.0.2.1, routed
#                                 by OVS's own table: ovs/route/add, tnl/arp/set)
#   ovs.sh up PREFIX DIR gre      the same with a GRE tunnel port (Ethernet over GRE, key 12)
#   ovs.sh down PREFIX DIR        stops the daemons, removes the namespaces (idempotent)
#
# Needs root, iproute2, ethtool, openvswitch-switch (its daemons and ovs-vsctl/ovs-appctl; the
# package's service is not used). Guests turn TX checksum offload off: the netdev datapath
# forwards the veth's partial checksums as they are, and the receiver would drop the TCP
# segments.
set -euo pipefail

cmd=${1:?usage: ovs.sh up|down PREFIX DIR [span|erspan|gre]}
p=${2:?usage: ovs.sh up|down PREFIX DIR [span|erspan|gre]}
dir=${3:?usage: ovs.sh up|down PREFIX DIR [span|erspan|gre]}
mode=${4:-span}
host="$p-host" sensor="$p-sensor"
export OVS_RUNDIR="$dir" OVS_LOGDIR="$dir" OVS_DBDIR="$dir"
vsctl() { ovs-vsctl --db="unix:$dir/db.sock" --timeout=20 "$@"; }
appctl() { ovs-appctl -t "$dir/ovs-vswitchd.ctl" "$@"; }

down() {
  for daemon in ovs-vswitchd ovsdb-server; do
    local pid
    pid=$(cat "$dir/$daemon.pid" 2>/dev/null) || continue
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$dir/$daemon.pid"
  done
  for ns in "$p-vm1" "$p-vm2" "$p-vm3" "$sensor" "$host"; do
    ip netns del "$ns" 2>/dev/null || true
  done
}

up() {
  down
  mkdir -p "$dir"
  rm -f "$dir/conf.db"
  for ns in "$host" "$p-vm1" "$p-vm2" "$p-vm3" "$sensor"; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
  done
  ovsdb-tool create "$dir/conf.db" /usr/share/openvswitch/vswitch.ovsschema
  ip netns exec "$host" ovsdb-server "$dir/conf.db" --remote="punix:$dir/db.sock" --pidfile="$dir/ovsdb-server.pid" \
    --unixctl="$dir/ovsdb-server.ctl" --log-file="$dir/ovsdb-server.log" -vconsole:off --detach 2>>"$dir/daemons.err"
  vsctl --no-wait init
  ip netns exec "$host" ovs-vswitchd "unix:$dir/db.sock" --pidfile="$dir/ovs-vswitchd.pid" \
    --unixctl="$dir/ovs-vswitchd.ctl" --log-file="$dir/ovs-vswitchd.log" -vconsole:off --detach 2>>"$dir/daemons.err"
  vsctl add-br br0 -- set bridge br0 datapath_type=netdev
  for i in 1 2 3; do
    ip -n "$host" link add "vm$i" type veth peer name eth0 netns "$p-vm$i"
    ip -n "$host" link set "vm$i" up
    ip -n "$p-vm$i" link set eth0 address "02:00:00:78:00:0$i"
    ip -n "$p-vm$i" addr add "10.78.0.$i/24" dev eth0
    ip -n "$p-vm$i" link set eth0 up
    ip netns exec "$p-vm$i" ethtool -K eth0 tx off >/dev/null
    vsctl add-port br0 "vm$i"
  done
  ip -n "$host" link add span0 type veth peer name eth0 netns "$sensor"
  ip -n "$host" link set span0 up
  ip -n "$sensor" link set eth0 up
  if [ "$mode" = span ]; then
    vsctl add-port br0 span0
    vsctl -- --id=@out get port span0 -- --id=@m create mirror name=span select-all=true output-port=@out \
      -- set bridge br0 mirrors=@m >/dev/null
  elif [ "$mode" = erspan ] || [ "$mode" = gre ]; then
    # The underlay: br-phy carries span0; its internal port holds 192.0.2.1; the sensor is 192.0.2.2.
    ip -n "$sensor" link set eth0 address 02:00:00:78:00:fe
    ip -n "$sensor" addr add 192.0.2.2/24 dev eth0
    # One MAC for 192.0.2.1, which three parties would otherwise answer a who-has for: OVS's own
    # tunnel ARP (the bridge's hwaddr), the kernel's tap br-phy (a random MAC), and the kernel on
    # span0 (Linux answers for any local address on any interface: arp_ignore 0). An address
    # answered with two MACs is what the ARP-spoofing detector (gid 9000 sid 1) rightly reports.
    ip netns exec "$host" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.default.arp_ignore=1
    vsctl add-br br-phy -- set bridge br-phy datapath_type=netdev other-config:hwaddr=02:00:00:78:00:fd \
      -- add-port br-phy span0
    ip netns exec "$host" sysctl -qw net.ipv4.conf.span0.arp_ignore=1
    ip -n "$host" link set br-phy address 02:00:00:78:00:fd
    ip -n "$host" addr add 192.0.2.1/24 dev br-phy
    ip -n "$host" link set br-phy up
    appctl ovs/route/add 192.0.2.2/24 br-phy >/dev/null
    appctl tnl/arp/set br-phy 192.0.2.2 02:00:00:78:00:fe >/dev/null
    if [ "$mode" = erspan ]; then
      vsctl add-port br0 mirror0 -- set interface mirror0 type=erspan \
        options:remote_ip=192.0.2.2 options:key=12 options:erspan_ver=1 options:erspan_idx=7
    else
      vsctl add-port br0 mirror0 -- set interface mirror0 type=gre options:remote_ip=192.0.2.2 options:key=12
    fi
    vsctl -- --id=@out get port mirror0 -- --id=@m create mirror name=erspan select-all=true output-port=@out \
      -- set bridge br0 mirrors=@m >/dev/null
  else
    echo "ovs.sh: mode '$mode' is not span, erspan or gre" >&2
    exit 2
  fi
}

case "$cmd" in
  up) up ;;
  down) down ;;
  *) echo "usage: ovs.sh up|down PREFIX DIR [span|erspan|gre]" >&2; exit 2 ;;
esac
