"""Live capture on an Open vSwitch test hypervisor (tests/hypervisor/ovs.sh: userspace datapath,
guests vm1..vm3 on br0, a mirror with select-all=true). eastwatch runs in the sensor namespace
with the default rule pack and a VM inventory naming the guests; vm1 attacks vm2 as in
test_hypervisor.py (the Log4Shell HTTP request, then SYNs to 5 closed ports, with
vm-detect.scan.ports=4 so the scan of a neighbour alerts). SIGTERM ends the run.

  --mode span    the mirror's output is a port (span0) whose peer is the sensor's eth0
  --mode erspan  the mirror's output is an ERSPAN type II tunnel port (OVS erspan_ver=1, session
                 12) towards the sensor's address; eastwatch decodes the GRE/ERSPAN copies
  --mode gre     the same with a GRE tunnel port (transparent Ethernet bridging, key 12)

Asserts: the Log4Shell alert (sid 9000001) vm1 -> vm2 with vm.src.name vm1 and vm.dest.name vm2
(zones, host, same_host, scope intra-host from the inventory), the port scan alert (gid 9000
sid 6) vm1 -> vm2, no other alert; in erspan (gre) mode every alert has mirror {encap: erspan2
(gre), session_id: 12 (none for GRE), sensor_src: 192.0.2.1} and decoder.erspan (gre) counts
the copies; the final stats record has kernel_packets > 0 and
kernel_drops == 0; exit 0. Needs root, ethtool and openvswitch-switch; exits 77 (ctest: skipped)
otherwise. Everything is removed even when the test fails.

usage: test_hypervisor_ovs.py --eastwatch BIN --source REPO [--work DIR] [--mode span|erspan]
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hvlib  # noqa: E402

PREFIX = f"ewov{os.getpid() % 10000}"
VM1, VM2 = "10.78.0.1", "10.78.0.2"
ENCAP = {"erspan": "erspan2", "gre": "gre"}  # the mirror.encap of each tunnel mode

INVENTORY = """sensor: {host: hv-01}
zones: [{name: web}, {name: db}]
policy: {default: allow}
vms:
  - {name: vm1, host: hv-01, zone: web, macs: ["02:00:00:78:00:01"], ips: ["10.78.0.1"]}
  - {name: vm2, host: hv-01, zone: db, macs: ["02:00:00:78:00:02"], ips: ["10.78.0.2"]}
  - {name: vm3, host: hv-01, zone: db, macs: ["02:00:00:78:00:03"], ips: ["10.78.0.3"]}
"""


def check_alerts(records, mode):
    alerts = hvlib.alerts_of(records)
    seen = sorted({(a["alert"].get("gid", 1), a["alert"]["signature_id"]) for a in alerts})
    assert seen == [(1, 9000001), (9000, 6)], f"the Log4Shell and port scan alerts only: {seen}"
    log4shell = [a for a in alerts if a["alert"]["signature_id"] == 9000001]
    scan = [a for a in alerts if a["alert"]["signature_id"] == 6]
    assert any(a["src_ip"] == VM1 and a["dest_ip"] == VM2 and a["dest_port"] == 8080 for a in log4shell), log4shell
    assert any(a["src_ip"] == VM1 and a["dest_ip"] == VM2 for a in scan), scan
    for alert in alerts:
        vm = alert.get("vm", {})
        assert vm.get("src", {}).get("name") == "vm1" and vm.get("dest", {}).get("name") == "vm2", vm
        assert vm["src"].get("zone") == "web" and vm["dest"].get("zone") == "db", vm
        assert vm.get("same_host") is True and vm.get("scope") == "intra-host", vm
        mirror = alert.get("mirror")
        if mode in ("erspan", "gre"):
            assert mirror is not None, f"a tunnelled copy carries its mirror object: {alert}"
            assert mirror.get("encap") == ENCAP[mode], mirror
            # ERSPAN's session id; the decoder keeps no GRE key (OVS's key 12 is not a session).
            assert mirror.get("session_id") == (12 if mode == "erspan" else None), mirror
            assert mirror.get("sensor_src") == "192.0.2.1", mirror
        else:
            assert mirror is None, f"a SPAN copy has no mirror object: {mirror}"
    return alerts


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--eastwatch", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--work", default="/tmp/eastwatch-hypervisor-ovs")
    parser.add_argument("--mode", choices=("span", "erspan", "gre"), default="span")
    args = parser.parse_args()
    name = f"test_hypervisor_ovs ({args.mode})"
    try:
        hvlib.preflight(name, PREFIX, tools=("ip", "ethtool", "ovs-vswitchd", "ovsdb-server", "ovs-vsctl"))
    except hvlib.Skip as skip:
        print(f"SKIP {skip}")
        return 77
    script = os.path.join(args.source, "tests", "hypervisor", "ovs.sh")
    rules = os.path.join(args.source, "signatures", "rules", "eastwatch.rules")
    out = os.path.join(args.work, "out")
    ovs_dir = os.path.join(args.work, "ovs")
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(out)
    inventory = os.path.join(args.work, "inventory.yaml")
    with open(inventory, "w") as f:
        f.write(INVENTORY)
    processes = []
    sensor = None
    try:
        hvlib.sh("bash", script, "up", PREFIX, ovs_dir, args.mode)
        sensor = hvlib.Sensor(PREFIX, [args.eastwatch, "-i", "eth0", "-S", rules, "-l", out,
                                       "--set", f"inventory.file={inventory}", "--set", "vm-detect.scan.ports=4"])
        processes.append(hvlib.start_listener(PREFIX, "vm2"))
        hvlib.attack(PREFIX, "vm1", VM2)
        time.sleep(1.0)  # the ring hands blocks over after its 100 ms timeout
        sensor.stop()
        records = hvlib.read_eve(out)
        alerts = check_alerts(records, args.mode)
        stats = hvlib.last_stats(records)
        capture = stats["capture"]
        assert capture["kernel_packets"] > 0 and capture["kernel_drops"] == 0, f"kernel counters: {capture}"
        assert stats["tcp"]["syn"] >= 1 + hvlib.CLOSED_PORTS, f"the SYNs were seen: {stats['tcp']}"
        if args.mode != "span":
            assert stats["decoder"][args.mode] > 0, f"decoded as {args.mode}: {stats['decoder']}"
        print(f"PASS {name}: {len(alerts)} alert(s), capture {capture}")
        return 0
    except (AssertionError, KeyError, subprocess.SubprocessError, OSError) as error:
        detail = error.stderr if isinstance(error, subprocess.CalledProcessError) else ""
        print(f"FAIL {name}: {error} {detail}")
        for log in ("ovs-vswitchd.log", "daemons.err"):
            path = os.path.join(ovs_dir, log)
            if os.path.exists(path):
                print(f"--- {log} (last lines)\n" + "".join(open(path).readlines()[-15:]))
        return 1
    finally:
        if sensor is not None:
            sensor.kill()
        hvlib.kill_all(processes)
        subprocess.run(["bash", script, "down", PREFIX, ovs_dir], capture_output=True)


if __name__ == "__main__":
    sys.exit(main())
