"""Live capture on a test hypervisor (tests/hypervisor/hypervisor.sh: guests vm1..vm3 on a Linux
bridge, every bridge port's ingress mirrored to the sensor's port with tc mirred): eastwatch runs
in the sensor namespace on the mirror port with the default rule pack and hvlib's VM inventory of
the guests; vm1 attacks vm2 (an HTTP request with a Log4Shell `${jndi:` User-Agent to a listener
on 8080, and SYNs to 5 closed ports: a port scan); SIGTERM ends the run cleanly. Asserts the
Log4Shell alert (sid 9000001) and the port scan alert (gid 9000 sid 6) vm1 -> vm2, each naming
both VMs, and no other alert in eve.json; a final stats record with stats.capture.kernel_packets
> 0 and kernel_drops == 0; exit code 0. Needs root (and the right to create network namespaces);
exits 77 (ctest: skipped) otherwise. The namespaces are removed even when the test fails.

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
    lab.start_sensor([lab.args.eastwatch, "-i", "eth0", "-S", lab.rules, "-l", lab.out, *lab.inventory_args()])
    lab.processes.append(hvlib.start_listener(PREFIX, "vm2"))
    hvlib.attack(PREFIX, "vm1", GUEST2)
    time.sleep(1.0)  # the ring hands blocks over after its 100 ms timeout
    lab.sensor.stop()
    alerts, stats = hvlib.check_attack(hvlib.read_eve(lab.out), GUEST1, GUEST2, scan=True)
    capture = stats["capture"]
    assert capture["kernel_packets"] > 0 and capture["kernel_drops"] == 0, f"kernel counters: {capture}"
    assert "capture.kernel_packets" in open(os.path.join(lab.out, "stats.log")).read(), "stats.log written"
    print(f"PASS test_hypervisor: {len(alerts)} alert(s), capture {stats['capture']}")


if __name__ == "__main__":
    sys.exit(hvlib.run_test("test_hypervisor", PREFIX, "/tmp/eastwatch-hypervisor", test))
