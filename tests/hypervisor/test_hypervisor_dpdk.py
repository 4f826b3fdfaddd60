"""DPDK live capture on the test hypervisor (tests/hypervisor/hypervisor.sh): as
test_hypervisor.py, but eastwatch reads the sensor's mirror port through DPDK's AF_PACKET PMD
(`--vdev net_af_packet0,iface=eth0`, no hugepages, no NIC) with 2 workers (the PMD has no RSS:
one RX queue, frames spread by the flow hash). Asserts the Log4Shell and port scan alerts vm1 ->
vm2 naming both VMs, nothing else, a final stats record with kernel_packets > 0 and kernel_drops == 0 (from
rte_eth_stats), exit 0 on SIGTERM, and no EAL runtime files left. Needs root; exits 77 (ctest:
skipped) otherwise, or when the binary was built without DPDK.

usage: test_hypervisor_dpdk.py --eastwatch BIN --source REPO [--work DIR]
"""
import glob
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hvlib  # noqa: E402
from hvlib import GUEST1, GUEST2  # noqa: E402

PREFIX = f"ewhd{os.getpid() % 10000}"
FILE_PREFIX = f"ewhv{os.getpid() % 10000}"  # not ewtest<pid>-*: e2e_dpdk checks its own are gone while it runs


def test(lab):
    try:
        try:
            lab.start_sensor([
                lab.args.eastwatch, "--dpdk", "--workers", "2", "-S", lab.rules, "-l", lab.out,
                "--set", f'capture.dpdk.eal-args=[--no-huge, --no-pci, -m, "512", --file-prefix, {FILE_PREFIX}, '
                '--log-level, "*:error", --vdev, "net_af_packet0,iface=eth0"]',
                "--set", "capture.dpdk.ports=[net_af_packet0]", *lab.inventory_args()],
                ready="SIGINT/SIGTERM to stop")  # the ports are started
        except AssertionError as error:
            if "built without DPDK" in str(error):
                raise hvlib.Skip(f"test_hypervisor_dpdk: {error}")
            raise
        lab.processes.append(hvlib.start_listener(PREFIX, "vm2"))
        hvlib.attack(PREFIX, "vm1", GUEST2)
        time.sleep(0.5)
        lab.sensor.stop()
        alerts, stats = hvlib.check_attack(hvlib.read_eve(lab.out), GUEST1, GUEST2, scan=True)
        capture = stats["capture"]
        assert capture["kernel_packets"] > 0 and capture["kernel_drops"] == 0, f"rte_eth_stats: {capture}"
        assert not glob.glob(f"/var/run/dpdk/{FILE_PREFIX}"), "EAL runtime files left behind"
        print(f"PASS test_hypervisor_dpdk: {len(alerts)} alert(s), capture {capture}")
    finally:
        shutil.rmtree(f"/var/run/dpdk/{FILE_PREFIX}", ignore_errors=True)


if __name__ == "__main__":
    sys.exit(hvlib.run_test("test_hypervisor_dpdk", PREFIX, "/tmp/eastwatch-hypervisor-dpdk", test))
