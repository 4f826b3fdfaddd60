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
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hvlib  # noqa: E402
from hvlib import GUEST1, GUEST2  # noqa: E402

PREFIX = f"ewhv{os.getpid() % 10000}"


def test(lab):
    lab.start_sensor([lab.args.eastwatch, "-i", "eth0", "-S", lab.rules, "-l", lab.out])
    lab.processes.append(hvlib.start_listener(PREFIX, "g2"))
    hvlib.attack(PREFIX, "g1", GUEST2)
    time.sleep(1.0)  # the ring hands blocks over after its 100 ms timeout
    lab.sensor.stop()
    alerts, stats = hvlib.check_attack(hvlib.read_eve(lab.out), GUEST1, GUEST2)
    assert stats["capture"]["kernel_packets"] > 0, f"kernel counters: {stats['capture']}"
    assert "capture.kernel_packets" in open(os.path.join(lab.out, "stats.log")).read(), "stats.log written"
    print(f"PASS test_hypervisor: {len(alerts)} alert(s), capture {stats['capture']}")


if __name__ == "__main__":
    sys.exit(hvlib.run_test("test_hypervisor", PREFIX, "/tmp/eastwatch-hypervisor", test))
