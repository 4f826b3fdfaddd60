#!/usr/bin/env python3
"""The fleet layout of README "Deployment" / "Fleet": one sensor per hypervisor host, each with
its own sensor.name and its host's inventory (sensor.host), all feeding one Redis list; a VM
migrating between hosts.

Two live sensors (processes, not VMs: two sensor VMs under TCG would not fit CI) capture two
veth "mirror ports" (esx-01's and esx-02's) in a private network namespace, with a redis-server
there. The demo capture (web-01 attacking db-01 and app-01) is sent into esx-01's mirror:
its alerts arrive from sensor fleet-esx-01 naming web-01 on esx-01. Then web-01 migrates: both
sensors' inventories say it runs on esx-02 now (the fleet's orchestration rewrites them; the
sensors reload on the file's mtime), and the capture is sent into esx-02's mirror: the new
alerts come from fleet-esx-02, still naming web-01, now on esx-02; nothing more comes from
fleet-esx-01. Needs root (netns, veth).
"""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run_e2e  # noqa: E402
from run_e2e import check, wait_for  # noqa: E402

NS = "ewfleet"
KEY = "fleet-alerts"
INVENTORY = """sensor: {{host: {sensor_host}}}
zones: [{{name: dmz}}, {{name: db}}, {{name: app}}]
policy:
  default: allow
vms:
  - {{name: web-01, host: {web_host}, zone: dmz, tenant: shop, macs: ["00:50:56:00:00:11"], ips: ["10.20.0.11", "fd00:20::11"]}}
  - {{name: db-01, host: esx-01, zone: db, macs: ["00:50:56:00:00:12"], ips: ["10.20.0.12"], tags: [pci]}}
  - {{name: app-01, host: esx-02, zone: app, macs: ["00:50:56:00:00:13"], ips: ["10.20.0.13", "fd00:20::13"]}}
"""
SENDER = r"""
import socket, struct, sys, time
data = open(sys.argv[2], "rb").read()
end = "<" if struct.unpack("<I", data[:4])[0] in (0xa1b2c3d4, 0xa1b23c4d) else ">"
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
off, n = 24, 0
while off + 16 <= len(data):
    incl = struct.unpack(end + "IIII", data[off:off + 16])[2]
    s.send(data[off + 16:off + 16 + incl]); off += 16 + incl; n += 1
    time.sleep(0.001)
print(n)
"""


def ns(*argv):
    return ["ip", "netns", "exec", NS, *argv]


def redis_records(port):
    out = subprocess.run(ns("redis-cli", "-p", str(port), "LRANGE", KEY, "0", "-1"),
                         capture_output=True, text=True, timeout=10).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def alerts(port, host, sid=None):
    return [r for r in redis_records(port) if r["event_type"] == "alert" and r["host"] == host
            and (sid is None or r["alert"]["signature_id"] == sid)]


def inventory_reloads(binary, sock):
    r = subprocess.run(ns(binary, "ctl", "--socket", sock, "stats"), capture_output=True, text=True)
    if r.returncode != 0:
        return -1
    return json.loads(r.stdout).get("inventory", {}).get("reloads", 0)


def main():
    args = run_e2e.argument_parser("/tmp/eastwatch-fleet").parse_args()
    if os.geteuid() != 0:
        print("SKIP fleet_e2e: needs root (network namespace, veth); run it as root")
        return 77
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        print("SKIP fleet_e2e: needs redis-server/redis-cli (packaging/scripts/install-deps.sh)")
        return 77
    env = run_e2e.Env(args, "fleet")
    binary = os.path.abspath(args.eastwatch)
    pcap = os.path.join(args.source, "tests", "pcaps", "guest-to-guest-attack.pcap")
    rules = os.path.join(args.source, "signatures", "rules")
    subprocess.run(["ip", "netns", "del", NS], capture_output=True)
    setup = [["ip", "netns", "add", NS], ns("ip", "link", "set", "lo", "up")]
    for h in ("1", "2"):
        setup += [ns("ip", "link", "add", f"span{h}", "type", "veth", "peer", "name", f"mir{h}"),
                  ns("ip", "link", "set", f"span{h}", "up"), ns("ip", "link", "set", f"mir{h}", "up"),
                  ns("sysctl", "-q", f"net.ipv6.conf.mir{h}.disable_ipv6=1"),
                  ns("sysctl", "-q", f"net.ipv6.conf.span{h}.disable_ipv6=1")]
    procs = []
    try:
        for cmd in setup:
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                if cmd[:3] == ["ip", "netns", "add"]:
                    print(f"SKIP fleet_e2e: cannot create a network namespace: {r.stderr.strip()}")
                    return 77
                raise run_e2e.Failure(f"{' '.join(cmd)}: {r.stderr}")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        procs.append(subprocess.Popen(ns("redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                         "--appendonly", "no", "--dir", env.dir, "--logfile", env.path("redis.log"))))
        wait_for(lambda: subprocess.run(ns("redis-cli", "-p", str(port), "PING"), capture_output=True,
                                        text=True).stdout.strip() == "PONG", "redis-server")
        sensors = {}
        for h in ("1", "2"):
            name = f"fleet-esx-0{h}"
            inv = env.write(f"inventory-{h}.yaml", INVENTORY.format(sensor_host=f"esx-0{h}", web_host="esx-01"))
            out = env.path(f"out-{h}")
            os.makedirs(out)
            sock = env.path(f"ctl-{h}.sock")
            cmd = ns(binary, "-i", f"mir{h}", "-l", out, "--set", f"default-rule-path={rules}",
                     "--set", f"sensor.name={name}", "--set", f"inventory.file={inv}",
                     "--set", "inventory.check-interval=1", "--set", f"control.socket={sock}",
                     "--set", "outputs.redis.enabled=yes", "--set", f"outputs.redis.port={port}",
                     "--set", f"outputs.redis.key={KEY}", "--set", f"spool.dir={env.path('spool-' + h)}")
            p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            procs.append(p)
            sensors[h] = (name, inv, sock, p)
        for h, (name, inv, sock, p) in sensors.items():
            wait_for(lambda: os.path.exists(sock) or p.poll() is not None, f"{name}'s control socket")
            check(p.poll() is None, f"{name} runs: {p.stderr.read() if p.poll() is not None else ''}")

        def send(h):
            r = subprocess.run(ns(sys.executable, "-c", SENDER, f"span{h}", pcap), capture_output=True,
                               text=True, timeout=60)
            check(r.returncode == 0, f"sending into span{h}: {r.stderr}")

        # Before: web-01 on esx-01; its traffic on esx-01's mirror.
        send("1")
        log4 = wait_for(lambda: alerts(port, "fleet-esx-01", 9000001), "Log4Shell from fleet-esx-01")[0]
        check(log4["vm"]["src"] == {"name": "web-01", "host": "esx-01", "zone": "dmz", "tenant": "shop"},
              f"before: the alert names web-01 on esx-01: {log4['vm']}")
        check(log4["vm"]["dest"]["name"] == "app-01" and log4["vm"]["dest"]["host"] == "esx-02",
              f"before: dest app-01 on esx-02: {log4['vm']}")
        time.sleep(1.5)  # the rest of the replay's alerts arrive
        before_1 = len(alerts(port, "fleet-esx-01"))
        check(before_1 >= 18, f"before: the demo's 18 alerts from fleet-esx-01, got {before_1}")
        check(not alerts(port, "fleet-esx-02"), "before: nothing from fleet-esx-02 (its mirror is silent)")

        # Migration: the orchestration updates every sensor's inventory; the sensors reload it.
        for h, (name, inv, sock, p) in sensors.items():
            before = inventory_reloads(binary, sock)
            time.sleep(1.1)  # a new mtime second
            env.write(f"inventory-{h}.yaml", INVENTORY.format(sensor_host=f"esx-0{h}", web_host="esx-02"))
            wait_for(lambda: inventory_reloads(binary, sock) > before, f"{name} reloads its inventory")
        send("2")
        log4b = wait_for(lambda: alerts(port, "fleet-esx-02", 9000001), "Log4Shell from fleet-esx-02")[0]
        check(log4b["vm"]["src"] == {"name": "web-01", "host": "esx-02", "zone": "dmz", "tenant": "shop"},
              f"after: the alert still names web-01, now on esx-02: {log4b['vm']}")
        time.sleep(1.5)
        after_2 = alerts(port, "fleet-esx-02")
        check(len(after_2) == before_1, f"after: fleet-esx-02 sends as many alerts as fleet-esx-01 did "
              f"({len(after_2)} vs {before_1})")
        check(len(alerts(port, "fleet-esx-01")) == before_1, "after: nothing new from fleet-esx-01")
        sids_1 = sorted(r["alert"]["signature_id"] for r in alerts(port, "fleet-esx-01"))
        sids_2 = sorted(r["alert"]["signature_id"] for r in after_2)
        check(sids_1 == sids_2, f"the same detections on both sides of the migration: {sids_1} vs {sids_2}")
        for h, (name, inv, sock, p) in sensors.items():
            p.send_signal(signal.SIGTERM)
            _, err = p.communicate(timeout=60)
            check(p.returncode == 0, f"{name} exit {p.returncode}: {err}")
        for h in ("1", "2"):
            env.validate(env.path(f"out-{h}/eve.json"))
        print(f"fleet_e2e: PASS ({before_1} alerts before and after the migration)")
        return 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        subprocess.run(["ip", "netns", "del", NS], capture_output=True)


if __name__ == "__main__":
    run_e2e.run_script(main, "fleet_e2e")
