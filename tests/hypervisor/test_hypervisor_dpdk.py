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
import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_hypervisor import ATTACK, GUEST1, GUEST2, LISTENER, sh  # noqa: E402

PREFIX = f"ewhd{os.getpid() % 10000}"
FILE_PREFIX = f"ewhv{os.getpid() % 10000}"  # not ewtest*: e2e_dpdk checks those are gone while it runs


def netns(name, *argv):
    return ["ip", "netns", "exec", f"{PREFIX}-{name}", *argv]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--eastwatch", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--work", default="/tmp/eastwatch-hypervisor-dpdk")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("SKIP test_hypervisor_dpdk: needs root (network namespaces, veth, tc mirred, DPDK EAL)")
        return 77
    if shutil.which("ip") is None or shutil.which("tc") is None:
        print("SKIP test_hypervisor_dpdk: needs iproute2 (ip, tc)")
        return 77
    probe = subprocess.run(["ip", "netns", "add", f"{PREFIX}-probe"], capture_output=True, text=True)
    if probe.returncode != 0:
        print(f"SKIP test_hypervisor_dpdk: cannot create network namespaces: {probe.stderr.strip()}")
        return 77
    subprocess.run(["ip", "netns", "del", f"{PREFIX}-probe"], capture_output=True)
    script = os.path.join(args.source, "tests", "hypervisor", "hypervisor.sh")
    rules = os.path.join(args.source, "signatures", "rules", "eastwatch.rules")
    out = os.path.join(args.work, "out")
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(out)
    processes = []
    try:
        sh("bash", script, "up", PREFIX)
        sensor = subprocess.Popen(netns(
            "sensor", args.eastwatch, "--dpdk", "--workers", "2", "-S", rules, "-l", out,
            "--set", f'capture.dpdk.eal-args=[--no-huge, --no-pci, -m, "512", --file-prefix, {FILE_PREFIX}, '
            '--log-level, "*:error", --vdev, "net_af_packet0,iface=eth0"]',
            "--set", "capture.dpdk.ports=[net_af_packet0]"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        processes.append(sensor)
        seen = ""
        deadline = time.monotonic() + 60
        while "SIGINT/SIGTERM to stop" not in seen:  # the ports are started
            line = sensor.stderr.readline()
            if not line or time.monotonic() > deadline:
                if "built without DPDK" in seen + line:
                    print(f"SKIP test_hypervisor_dpdk: {(seen + line).strip()}")
                    return 77
                raise AssertionError(f"eastwatch did not start capturing: {seen + line!r} rc={sensor.poll()}")
            seen += line
        listener = subprocess.Popen(netns("g2", "/usr/bin/python3", "-c", LISTENER), stdout=subprocess.PIPE,
                                    text=True)
        processes.append(listener)
        assert listener.stdout.readline().strip() == "listening", "listener in guest 2"
        attack = sh(*netns("g1", "/usr/bin/python3", "-c", ATTACK, GUEST2))
        assert "200 OK" in attack.stdout, f"guest 2 answered: {attack.stdout!r}"
        time.sleep(0.5)
        sensor.send_signal(signal.SIGTERM)
        _, stderr = sensor.communicate(timeout=60)
        assert sensor.returncode == 0, f"eastwatch exit {sensor.returncode} after SIGTERM: {seen + stderr}"
        records = [json.loads(line) for line in open(os.path.join(out, "eve.json"))]
        alerts = [(r["alert"]["signature_id"], r["src_ip"], r["dest_ip"], r["dest_port"])
                  for r in records if r["event_type"] == "alert"]
        assert (9000001, GUEST1, GUEST2, 8080) in alerts, f"Log4Shell alert between the guests: {alerts}"
        assert all(sid == 9000001 for sid, *_ in alerts), f"no other default rule matches this traffic: {alerts}"
        stats = [r["stats"] for r in records if r["event_type"] == "stats"]
        assert stats, "a final stats record"
        capture = stats[-1]["capture"]
        assert capture["kernel_packets"] > 0 and capture["kernel_drops"] == 0, f"rte_eth_stats: {capture}"
        assert stats[-1]["tcp"]["syn"] >= 6, f"the SYNs were seen: {stats[-1]['tcp']}"
        assert not glob.glob(f"/var/run/dpdk/{FILE_PREFIX}"), "EAL runtime files left behind"
        print(f"PASS test_hypervisor_dpdk: {len(alerts)} alert(s), capture {capture}")
        return 0
    except (AssertionError, subprocess.SubprocessError, OSError) as error:
        print(f"FAIL test_hypervisor_dpdk: {error}")
        return 1
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        subprocess.run(["bash", script, "down", PREFIX], capture_output=True)
        shutil.rmtree(f"/var/run/dpdk/{FILE_PREFIX}", ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
