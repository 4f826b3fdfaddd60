#!/usr/bin/python3
"""Metrics end to end: the Prometheus endpoint, the live stats and the periodic EVE stats records
of a live capture, and the Grafana dashboard against what eastwatch really exports.

1. Always: packaging/grafana/eastwatch.json validates against tests/tools/grafana-dashboard.schema.json
   (Grafana's dashboard model; python3-jsonschema), panel ids are unique and panels fit the
   24-column grid; bad metrics: keys are refused with FILE:LINE-style errors (exit 2).
2. As root: eastwatch captures live on one end of a veth pair (IPv6 off, a BPF filter on the test
   subnet, so the kernel adds nothing) with stats.interval 1 and metrics on a free local port.
   The test sends 50 frames with scapy on the other end: 5 TCP connections (handshake + one data
   segment each) whose data matches one rule with quotes and a backslash in its msg, and 30 UDP
   datagrams that match nothing. While eastwatch runs, /metrics must show exactly 50 packets
   decoded and captured, 5 alerts in total, 5 for the signature (its msg escaped as the format
   requires), 5 for the zone pair dmz -> db and 5 for the VM pair web-01 -> db-01 of the inventory; every family once with HELP and
   TYPE, counters ending in _total. Every metric a dashboard panel queries must be one of the
   families scraped. A second eastwatch on the same metrics address exits 2. eve.json gets
   periodic stats records with increasing uptime (and stats.log periodic blocks); after SIGTERM
   (exit 0) eve.json holds the 5 alerts, the last stats record counts the 50 packets, and
   every record validates against Suricata's EVE schema.
Exits 77 (ctest: skipped) after part 1 when not root.

usage: metrics_e2e.py --eastwatch BIN --source REPO [--work DIR] [--sanitized]
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from run_e2e import Env, Failure, argument_parser, check  # noqa: E402

PREFIX = f"ewm{os.getpid() % 100000}"
CLIENT, SERVER = "10.78.0.1", "10.78.0.2"
MSG = r'EW \"quoted\" C:\\tmp'          # as written in the rule (Suricata escapes)
MSG_TEXT = 'EW "quoted" C:\\tmp'          # the signature text
MSG_LABEL = 'EW \\"quoted\\" C:\\\\tmp'   # as the exposition format writes it in a label
RULES = f'alert tcp any any -> any 80 (msg:"{MSG}"; flow:to_server; content:"EVILPAYLOAD"; sid:9900001; rev:2;)\n'
INVENTORY = f"""sensor: {{host: hv-test}}
zones: [{{name: dmz}}, {{name: db}}]
policy: {{default: allow}}
vms:
  - {{name: web-01, host: hv-test, zone: dmz, macs: ["02:00:00:00:00:01"], ips: ["{CLIENT}"]}}
  - {{name: db-01, host: hv-test, zone: db, macs: ["02:00:00:00:00:02"], ips: ["{SERVER}"]}}
"""
SEND = r"""
import sys
from scapy.all import Ether, IP, TCP, UDP, Raw, sendp
iface, client, server = sys.argv[1:4]
frames = []
c, s = "02:00:00:00:00:01", "02:00:00:00:00:02"
for i in range(5):
    sport = 40000 + i
    frames += [Ether(src=c, dst=s) / IP(src=client, dst=server) / TCP(sport=sport, dport=80, flags="S", seq=1000),
               Ether(src=s, dst=c) / IP(src=server, dst=client) / TCP(sport=80, dport=sport, flags="SA", seq=5000, ack=1001),
               Ether(src=c, dst=s) / IP(src=client, dst=server) / TCP(sport=sport, dport=80, flags="A", seq=1001, ack=5001),
               Ether(src=c, dst=s) / IP(src=client, dst=server) / TCP(sport=sport, dport=80, flags="PA", seq=1001, ack=5001)
               / Raw(b"GET /x HTTP/1.0\r\nX: EVILPAYLOAD\r\n\r\n")]
for i in range(30):
    frames.append(Ether(src=c, dst=s) / IP(src=client, dst=server) / UDP(sport=50000 + i, dport=9999) / Raw(b"nothing"))
sendp(frames, iface=iface, verbose=False)
print(len(frames))
"""
SENT = 50


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        check(response.headers.get("Content-Type", "").startswith("text/plain; version=0.0.4"),
              f"Content-Type {response.headers.get('Content-Type')}")
        return response.read().decode()


def parse(text):
    """Families (name -> type), HELP/TYPE counts and samples ('name{labels}' -> value)."""
    types, helps, type_lines, samples = {}, {}, {}, {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name = line.split(" ", 3)[2]
            helps[name] = helps.get(name, 0) + 1
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
            type_lines[name] = type_lines.get(name, 0) + 1
        elif line:
            key, value = line.rsplit(" ", 1)
            samples[key] = float(value)
    return types, helps, type_lines, samples


def dashboard_metric_names(dashboard):
    exprs = []

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("expr", "definition") and isinstance(value, str):
                    exprs.append(value)
                elif key == "query" and isinstance(value, str):
                    exprs.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)
    walk(dashboard)
    names = set()
    for expr in exprs:
        names.update(re.findall(r"\beastwatch_[a-zA-Z0-9_]+", expr))
    return names, len(exprs)


def check_dashboard(source):
    import jsonschema
    schema = json.load(open(os.path.join(source, "tests", "tools", "grafana-dashboard.schema.json")))
    dashboard = json.load(open(os.path.join(source, "packaging", "grafana", "eastwatch.json")))
    jsonschema.Draft7Validator.check_schema(schema)
    errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in jsonschema.Draft7Validator(schema).iter_errors(dashboard)]
    check(not errors, "dashboard does not match Grafana's model:\n  " + "\n  ".join(errors[:20]))
    ids = [p["id"] for p in dashboard["panels"]]
    check(len(ids) == len(set(ids)), f"panel ids repeat: {ids}")
    for panel in dashboard["panels"]:
        check(panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24, f"panel {panel['id']} is wider than the grid")
        refs = [t["refId"] for t in panel.get("targets", [])]
        check(len(refs) == len(set(refs)), f"panel {panel['id']}: refIds repeat")
    # The schema itself must reject what Grafana would (a panel past the grid, a target without refId).
    broken = json.loads(json.dumps(dashboard))
    broken["panels"][1]["gridPos"]["w"] = 30
    del broken["panels"][1]["targets"][0]["refId"]
    check(len(list(jsonschema.Draft7Validator(schema).iter_errors(broken))) == 2, "the schema accepts a broken panel")
    names, count = dashboard_metric_names(dashboard)
    check(count >= 20 and len(names) >= 20, f"only {len(names)} metrics in {count} queries")
    return names


def check_config_errors(env):
    for value, expected in (("metrics.listen=nonsense", "metrics.listen=nonsense: 'nonsense' is not an address"),
                            ("metrics.max-signatures=0", "metrics.max-signatures"),
                            ("stats.interval=0", "stats.interval")):
        result = env.run("-T", "--set", value, expect_rc=None)
        check(result.returncode == 2 and expected in result.stderr,
              f"--set {value}: rc {result.returncode}, stderr {result.stderr!r}")
    config = env.write("bad.yaml", "metrics:\n  enabled: yes\n  listen: \"127.0.0.1:99999\"\n")
    result = env.run("-T", "-c", config, expect_rc=None)
    check(result.returncode == 2 and f"{config}:3: metrics.listen:" in result.stderr, f"bad.yaml: {result.stderr!r}")


def sh(*argv):
    return subprocess.run(list(argv), check=True, capture_output=True, text=True, timeout=60)


def live(env, dashboard_names):
    a, b = f"{PREFIX}a", f"{PREFIX}b"
    sh("ip", "link", "add", a, "type", "veth", "peer", "name", b)
    process = None
    try:
        for name in (a, b):
            with open(f"/proc/sys/net/ipv6/conf/{name}/disable_ipv6", "w") as f:
                f.write("1")
            sh("ip", "link", "set", name, "up")
        rules = env.write("metrics.rules", RULES)
        inventory = env.write("inventory.yaml", INVENTORY)
        out = env.path("out")
        os.makedirs(out)
        port = free_port()
        process = subprocess.Popen(
            [env.binary, "-i", b, "-S", rules, "-l", out, "--set", f"inventory.file={inventory}",
             "--set", "stats.interval=1", "--set", "metrics.enabled=yes", "--set", f"metrics.listen=127.0.0.1:{port}",
             "--set", "capture.bpf-filter=net 10.78.0.0/16", "--set", "vm-detect.enabled=no"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + (60 if env.sanitized else 20)
        text = None
        while time.time() < deadline and process.poll() is None:
            try:
                text = scrape(port)
                break
            except OSError:
                time.sleep(0.2)
        check(text is not None, f"no /metrics on port {port}: {process.stderr.read() if process.poll() is not None else ''}")
        time.sleep(1.5)  # the capture thread is reading (its first kernel counters published)
        sent = subprocess.run(["/usr/bin/python3", "-c", SEND, a, CLIENT, SERVER], capture_output=True, text=True,
                              timeout=60)
        check(sent.returncode == 0 and sent.stdout.strip() == str(SENT), f"scapy: {sent.stderr}")

        expected = {
            "eastwatch_packets_total": SENT,
            "eastwatch_kernel_packets_total": SENT,
            "eastwatch_alerts_total": 5,
            f'eastwatch_alerts_by_signature_total{{gid="1",sid="9900001",rev="2",signature="{MSG_LABEL}"}}': 5,
            'eastwatch_alerts_by_zone_total{src_zone="dmz",dest_zone="db"}': 5,
            'eastwatch_alerts_by_vm_total{src_vm="web-01",dest_vm="db-01"}': 5,
            "eastwatch_kernel_drops_total": 0,
            "eastwatch_running": 1,
            "eastwatch_rules_loaded": 1,
            "eastwatch_rules_failed": 0,
            "eastwatch_flows_created_total": 35,  # 5 TCP connections, 30 UDP 5-tuples
        }
        samples = {}
        while time.time() < deadline:
            types, helps, type_lines, samples = parse(scrape(port))
            if all(samples.get(k) == v for k, v in expected.items()):
                break
            time.sleep(0.3)
        wrong = {k: (samples.get(k), v) for k, v in expected.items() if samples.get(k) != v}
        check(not wrong, f"metrics (got, expected): {wrong}")
        check(all(n == 1 for n in type_lines.values()) and helps.keys() == type_lines.keys(),
              "a family without exactly one HELP and TYPE")
        for name, kind in types.items():
            check(kind in ("counter", "gauge"), f"{name}: type {kind}")
            check((kind == "counter") == name.endswith("_total"), f"{name}: {kind} and its suffix disagree")
        check(samples.get("eastwatch_decoder_pkts_total") == SENT, "the stats counter decoder.pkts under its own name")
        check(samples.get('eastwatch_memcap_hits_total{table="flow"}') == 0, "memcap hits of the flow table")
        missing = sorted(dashboard_names - set(types))
        check(not missing, f"the dashboard queries metrics eastwatch does not export: {missing}")

        # A second sensor on the same metrics address: refused at start.
        second = env.run("-r", os.path.join(env.source, "tests", "pcaps", "guest-to-guest-attack.pcap"), "-S", rules,
                         "-l", env.dir, "--set", "metrics.enabled=yes", "--set", f"metrics.listen=127.0.0.1:{port}",
                         expect_rc=None)
        check(second.returncode == 2 and "cannot listen on" in second.stderr, f"second sensor: {second.stderr!r}")

        # Periodic stats records: at least two after the traffic, uptime increasing.
        eve = os.path.join(out, "eve.json")
        stats = []
        while time.time() < deadline:
            stats = [r for r in map(json.loads, open(eve)) if r["event_type"] == "stats"]
            if len(stats) >= 3 and stats[-1]["stats"]["decoder"]["pkts"] == SENT:
                break
            time.sleep(0.3)
        uptimes = [r["stats"]["uptime"] for r in stats]
        check(len(stats) >= 3, f"periodic stats records: {len(stats)}")
        check(all(x < y for x, y in zip(uptimes, uptimes[1:])), f"uptime not increasing: {uptimes}")
        check(stats[-1]["stats"]["decoder"]["pkts"] == SENT, "periodic stats: decoder.pkts")
        check(stats[-1]["stats"]["detect"]["alert"] == 5, "periodic stats: detect.alert")
        blocks = open(os.path.join(out, "stats.log")).read().count("Date: ")
        check(blocks >= 3, f"stats.log blocks: {blocks}")

        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
        check(process.returncode == 0, f"exit {process.returncode}: {stderr}")
        process = None
        records = [json.loads(line) for line in open(eve)]
        alerts = [r for r in records if r["event_type"] == "alert"]
        check(len(alerts) == 5 and all(r["alert"]["signature"] == MSG_TEXT for r in alerts),
              f"alerts in eve.json: {[r['alert']['signature'] for r in alerts]}")
        final = [r for r in records if r["event_type"] == "stats"][-1]["stats"]
        check(final["decoder"]["pkts"] == SENT and final["capture"]["kernel_packets"] == SENT,
              f"final stats: {final['decoder']['pkts']} decoded, {final['capture']['kernel_packets']} captured")
        check(final["uptime"] >= uptimes[-1], "final uptime")
        env.validate(eve)
    finally:
        if process is not None:
            process.kill()
            process.wait()
        subprocess.run(["ip", "link", "del", a], capture_output=True)


def main():
    args = argument_parser("/tmp/eastwatch-metrics-e2e").parse_args()
    env = Env(args, "metrics")
    try:
        names = check_dashboard(args.source)
        print(f"ok   grafana dashboard ({len(names)} metrics)")
        check_config_errors(env)
        print("ok   metrics/stats config errors")
        if os.geteuid() != 0:
            print("SKIP live metrics: needs root (veth pair, live capture)")
            return 77
        live(env, names)
        print("ok   live metrics, periodic stats, dashboard metrics exported")
    except Failure as failure:
        print(f"FAIL {failure}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
