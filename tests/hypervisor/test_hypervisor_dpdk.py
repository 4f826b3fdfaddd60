"""DPDK live capture on the test hypervisor (tests/hypervisor/hypervisor.sh): as
test_hypervisor.py, but eastwatch reads the sensor's mirror port through DPDK's AF_PACKET PMD
(`--vdev net_af_packet0,iface=eth0`, no hugepages, no NIC) with 2 workers (the PMD has no RSS:
one RX queue, frames spread by the flow hash). Asserts the Log4Shell alert between the guests,
only that rule, a final stats record with kernel_packets > 0 and kernel_drops == 0 (from
rte_eth_stats), exit 0 on SIGTERM, and no EAL runtime files left. Needs root; exits 77 (ctest:
skipped) otherwise, or when the binary was built without DPDK.

usage: test_hypervisor_dpdk.py --eastwatch BIN --source REPO [--work DIR]
"""
import argparse
import glob
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hvlib  # noqa: E402
from test_hypervisor import GUEST1, GUEST2  # noqa: E402

PREFIX = f"ewhd{os.getpid() % 10000}"
FILE_PREFIX = f"ewhv{os.getpid() % 10000}"  # not ewtest*: e2e_dpdk checks those are gone while it runs


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--eastwatch", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--work", default="/tmp/eastwatch-hypervisor-dpdk")
    args = parser.parse_args()
    try:
        hvlib.preflight("test_hypervisor_dpdk", PREFIX)
    except hvlib.Skip as skip:
        print(f"SKIP {skip}")
        return 77
    script = os.path.join(args.source, "tests", "hypervisor", "hypervisor.sh")
    rules = os.path.join(args.source, "signatures", "rules", "eastwatch.rules")
    out = os.path.join(args.work, "out")
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(out)
    processes = []
    sensor = None
    try:
        hvlib.sh("bash", script, "up", PREFIX)
        try:
            sensor = hvlib.Sensor(PREFIX, [
                args.eastwatch, "--dpdk", "--workers", "2", "-S", rules, "-l", out,
                "--set", f'capture.dpdk.eal-args=[--no-huge, --no-pci, -m, "512", --file-prefix, {FILE_PREFIX}, '
                '--log-level, "*:error", --vdev, "net_af_packet0,iface=eth0"]',
                "--set", "capture.dpdk.ports=[net_af_packet0]"], ready="SIGINT/SIGTERM to stop")  # the ports are started
        except AssertionError as error:
            if "built without DPDK" in str(error):
                print(f"SKIP test_hypervisor_dpdk: {error}")
                return 77
            raise
        processes.append(hvlib.start_listener(PREFIX, "g2"))
        hvlib.attack(PREFIX, "g1", GUEST2)
        time.sleep(0.5)
        sensor.stop()
        records = hvlib.read_eve(out)
        alerts = [(r["alert"]["signature_id"], r["src_ip"], r["dest_ip"], r["dest_port"])
                  for r in hvlib.alerts_of(records)]
        assert (9000001, GUEST1, GUEST2, 8080) in alerts, f"Log4Shell alert between the guests: {alerts}"
        assert all(sid == 9000001 for sid, *_ in alerts), f"no other default rule matches this traffic: {alerts}"
        stats = hvlib.last_stats(records)
        capture = stats["capture"]
        assert capture["kernel_packets"] > 0 and capture["kernel_drops"] == 0, f"rte_eth_stats: {capture}"
        assert stats["tcp"]["syn"] >= 1 + hvlib.CLOSED_PORTS, f"the SYNs were seen: {stats['tcp']}"
        assert not glob.glob(f"/var/run/dpdk/{FILE_PREFIX}"), "EAL runtime files left behind"
        print(f"PASS test_hypervisor_dpdk: {len(alerts)} alert(s), capture {capture}")
        return 0
    except (AssertionError, subprocess.SubprocessError, OSError) as error:
        print(f"FAIL test_hypervisor_dpdk: {error}")
        return 1
    finally:
        if sensor is not None:
            sensor.kill()
        hvlib.kill_all(processes)
        subprocess.run(["bash", script, "down", PREFIX], capture_output=True)
        shutil.rmtree(f"/var/run/dpdk/{FILE_PREFIX}", ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
