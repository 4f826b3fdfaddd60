#!/usr/bin/env bash
# Installs every package Eastwatch needs to build, test and fuzz, from Debian 12's archive.
# Fast when everything is present already (no apt-get at all). Needs root (or sudo).
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config g++ clang libclang-rt-14-dev
  libpcap-dev libhyperscan-dev libyaml-cpp-dev libspdlog-dev libfmt-dev catch2 libpcre2-dev
  libcli11-dev libexpected-dev rapidjson-dev libxxhash-dev zlib1g-dev
  python3 python3-jsonschema python3-scapy
  libssl-dev  # MD5/SHA digests: to_md5/to_sha* transforms, JA3, certificate fingerprints
  librdkafka-dev libhiredis-dev redis-server libsystemd-dev  # SOC sinks, their tests, sd_notify
  libdpdk-dev  # DPDK capture (net_pcap/net_af_packet virtual devices in the tests)
  logrotate  # packaging/logrotate/eastwatch, run for real by tests/e2e/daemon_e2e.py
  libcpp-httplib-dev  # the Prometheus endpoint (metrics.listen)
  iproute2  # ip netns, veth, bridge, tc mirred: the test hypervisor (tests/hypervisor)
  mmdebstrap systemd-container  # the .deb installed into a Debian root booted with systemd-nspawn (tests/e2e/deb_install_e2e.py)
  openvswitch-switch ethtool  # Open vSwitch's userspace datapath test hypervisor, guests' tx offload off (tests/hypervisor/ovs.sh)
  tcpdump tshark  # read back the pcap-log files in the tests: libpcap and Wireshark's own reader (tests/e2e/pcaplog_e2e.py)
  tcpreplay  # replays traffic onto the test hypervisor's SPAN port (tests/e2e/reload_e2e.py)
  suricata-update  # manages the rules in tests/e2e/suricata_update_e2e.py (ET Open from a local tarball)
  python3-yaml nftables  # the sensor VM's first-boot script and its ruleset (tests/e2e/vmimage_e2e.py)
)

missing=()
for package in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
