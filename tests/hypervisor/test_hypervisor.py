"""Live capture on a test hypervisor (tests/hypervisor/hypervisor.sh): eastwatch runs in the
sensor namespace on the mirror port with the default rule pack; guest 1 attacks guest 2 (an HTTP
request with a Log4Shell `${jndi:` User-Agent to a listener on 8080, and SYNs to closed ports);
SIGTERM ends the run cleanly. Asserts the Log4Shell alert (sid 9000001, the only default rule
this traffic matches: the SYNs to closed ports match none) between the guests in eve.json, a
final stats record with stats.capture.kernel_packets > 0, and exit code 0. Needs root (and the
right to create network namespaces); exits 77 (ctest: skipped) otherwise. The namespaces are
removed even when the test fails.

usage: test_hypervisor.py --eastwatch BIN --source REPO [--work DIR]
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hvlib  # noqa: E402
from hvlib import ATTACK, LISTENER, sh  # noqa: E402,F401  (test_hypervisor_dpdk imports them from here)

PREFIX = f"ewhv{os.getpid() % 10000}"
GUEST1, GUEST2 = "10.77.0.1", "10.77.0.2"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--eastwatch", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--work", default="/tmp/eastwatch-hypervisor")
    args = parser.parse_args()
    try:
        hvlib.preflight("test_hypervisor", PREFIX)
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
        sh("bash", script, "up", PREFIX)
        sensor = hvlib.Sensor(PREFIX, [args.eastwatch, "-i", "eth0", "-S", rules, "-l", out])
        processes.append(hvlib.start_listener(PREFIX, "g2"))
        hvlib.attack(PREFIX, "g1", GUEST2)
        time.sleep(1.0)  # the ring hands blocks over after its 100 ms timeout
        sensor.stop()
        records = hvlib.read_eve(out)
        alerts = [(r["alert"]["signature_id"], r["src_ip"], r["dest_ip"], r["dest_port"])
                  for r in hvlib.alerts_of(records)]
        assert (9000001, GUEST1, GUEST2, 8080) in alerts, f"Log4Shell alert between the guests: {alerts}"
        assert all(sid == 9000001 for sid, *_ in alerts), f"no other default rule matches this traffic: {alerts}"
        stats = hvlib.last_stats(records)
        assert stats["capture"]["kernel_packets"] > 0, f"kernel counters: {stats['capture']}"
        assert stats["tcp"]["syn"] >= 1 + hvlib.CLOSED_PORTS, f"the SYNs were seen: {stats['tcp']}"
        assert "capture.kernel_packets" in open(os.path.join(out, "stats.log")).read(), "stats.log written"
        print(f"PASS test_hypervisor: {len(alerts)} alert(s), capture {stats['capture']}")
        return 0
    except (AssertionError, subprocess.SubprocessError, OSError) as error:
        print(f"FAIL test_hypervisor: {error}")
        return 1
    finally:
        if sensor is not None:
            sensor.kill()
        hvlib.kill_all(processes)
        subprocess.run(["bash", script, "down", PREFIX], capture_output=True)


if __name__ == "__main__":
    sys.exit(main())
