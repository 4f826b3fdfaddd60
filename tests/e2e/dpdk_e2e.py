#!/usr/bin/python3
"""DPDK capture end to end: golden captures replayed through DPDK's pcap PMD (`net_pcap`, no
hugepages, no NIC) with 1 and 2 workers must give exactly the alerts of `-r FILE`.

What is compared: every alert's signature, addresses, ports, protocol, direction, timestamp and
pcap_cnt (not flow_id: each worker numbers its flows in its own range). DPDK 22.11's net_pcap
stamps every mbuf with the capture file's own time, which Eastwatch uses for net_pcap ports, so
flow timeouts, thresholds and tag seconds see the same clock as `-r` (a NIC port is stamped with
the arrival time instead: a replay through it would time flows out on the wall clock). Frames are
read by one RX queue in file order (net_pcap has no RSS), so pcap_cnt matches too.
The run ends by itself after capture.dpdk.idle-exit seconds without a frame; a run on an endless
port (infinite_rx) ends on SIGTERM with its stats written. The EAL's runtime directory
(/var/run/dpdk/ewtest<pid>-*) must be gone after each run. Threshold state is shared by the workers, so
with 2 workers the threshold rule alerts for the same destinations as `-r` (on whichever of each
destination's packets a worker counts first).
Without root, or when the binary was built without DPDK, the test is skipped with the reason.

usage: dpdk_e2e.py --eastwatch BIN --source REPO [--work DIR]
"""
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "pcaps"))
import pcapgen  # noqa: E402
from pcapgen import IP, Raw, Capture  # noqa: E402
from run_e2e import Failure, argument_parser, check  # noqa: E402

# This process's prefixes only: another run of this test (a second build tree, a helper) may be
# using EAL at the same time, with its own pid.
PREFIX = f"ewtest{os.getpid()}-"
RUNTIME_GLOB = f"/var/run/dpdk/{PREFIX}*"


class Runner:
    def __init__(self, binary, source, work):
        self.binary = binary
        self.source = source
        self.work = work
        self.runs = 0

    def run(self, arguments, expect_rc=0, timeout=120):
        result = subprocess.run([self.binary, *arguments], capture_output=True, text=True, timeout=timeout)
        if expect_rc is not None and result.returncode != expect_rc:
            raise Failure(f"{' '.join(arguments)}\nexit code {result.returncode}, expected {expect_rc}\n"
                          f"stderr: {result.stderr}")
        return result

    def out_dir(self, name):
        path = os.path.join(self.work, name)
        shutil.rmtree(path, ignore_errors=True)
        os.makedirs(path)
        return path

    def eal_set(self, pcap, extra_vdev=""):
        self.runs += 1
        return ["--set", f'capture.dpdk.eal-args=[--no-huge, --no-pci, -m, "512", --file-prefix, {PREFIX}{self.runs}, '
                f'--log-level, "*:error", --vdev, "net_pcap0,rx_pcap={pcap}{extra_vdev}"]',
                "--set", "capture.dpdk.ports=[net_pcap0]"]

    def records(self, out):
        eve = os.path.join(out, "eve.json")
        schema = os.path.join(self.source, "..", "shared", "reference", "suricata-eve-schema.json")
        if os.path.exists(schema):  # stats.capture holds only the schema's names
            result = subprocess.run(["/usr/bin/python3", os.path.join(self.source, "tests", "tools", "validate_eve.py"),
                                     schema, eve], capture_output=True, text=True)
            check(result.returncode == 0, f"schema validation of {eve} failed:\n{result.stdout}")
        return [json.loads(line) for line in open(eve)]

    def replay(self, pcap, rules, workers=1, extra=()):
        out = self.out_dir("file")
        self.run(["-q", "-r", pcap, "-S", rules, "-l", out, "--workers", str(workers), *extra])
        return self.records(out)

    def dpdk(self, pcap, rules, workers, extra=()):
        out = self.out_dir(f"dpdk-{workers}")
        result = self.run(["--dpdk", "--workers", str(workers), "-S", rules, "-l", out, *self.eal_set(pcap),
                           "--set", "capture.dpdk.idle-exit=1", *extra])
        check(not glob.glob(RUNTIME_GLOB), f"EAL runtime files left behind: {glob.glob(RUNTIME_GLOB)}")
        return self.records(out), result.stderr, open(os.path.join(out, "stats.log")).read()


def alert_keys(records):
    keys = []
    for r in records:
        if r["event_type"] != "alert":
            continue
        keys.append((r["alert"]["signature_id"], r["timestamp"], r.get("pcap_cnt"), r["src_ip"], r.get("src_port"),
                     r["dest_ip"], r.get("dest_port"), r["proto"], r.get("direction")))
    return sorted(keys)


def stats_of(records):
    stats = [r for r in records if r["event_type"] == "stats"]
    return stats[-1]["stats"] if stats else {}


def generated_capture(path):
    """TCP sessions interleaved, fragmented UDP datagrams (last fragment first) between the same
    hosts, ICMP echoes, and a flow that idles past its timeout in the middle of the capture."""
    from scapy.all import UDP, fragment  # noqa: E402
    cap = Capture()
    sessions = [pcapgen.TcpSession(cap, f"10.30.{i // 8}.{10 + i % 8}", f"10.31.0.{1 + i % 5}", 40000 + i, 8000 + i % 3)
                for i in range(12)]
    for s in sessions:
        s.handshake()
    for i, s in enumerate(sessions):
        s.send(b"GET /x HTTP/1.0\r\nX-Marker: WORKER-MARK-%02d\r\n\r\n" % i)
        if i % 4 == 0:
            udp = IP(src=s.client, dst=s.server, id=1000 + i) / UDP(sport=5000 + i, dport=6000) / Raw(
                b"A" * 30 + b"FRAGMENTED-SIGNATURE" + b"B" * 30)
            for frame in reversed([pcapgen.ether() / f for f in fragment(udp, fragsize=24)]):
                cap.add(frame)
        if i % 6 == 0:
            pcapgen.icmp_echo(cap, s.client, s.server, i, 1)
        s.send(b"HTTP/1.0 200 OK\r\n\r\nreply-to-the-marker", to_server=False)
    for s in sessions:
        s.close()
    cap.write(path)
    return len(cap.packets)


THRESHOLD_SID = 6
GENERATED_RULES = """
alert tcp any any -> any any (msg:"marker to server"; flow:established,to_server; content:"WORKER-MARK-"; sid:1;)
alert udp any any -> any 6000 (msg:"signature across fragments"; content:"FRAGMENTED-SIGNATURE"; sid:2;)
alert ip any any -> any any (msg:"a fragment with MF"; fragbits:M; sid:3;)
alert icmp any any -> any any (msg:"echo payload"; content:"abcdefghijklmnop"; sid:4;)
alert tcp any any -> any any (msg:"reply to client"; flow:established,to_client; content:"reply-to-the-marker"; sid:5;)
alert tcp any any -> any any (msg:"threshold by seconds"; content:"WORKER-MARK-"; threshold:type limit, track by_dst, count 1, seconds 60; sid:6;)
"""


INVENTORY = """sensor: {host: esx-01}
zones: [{name: dmz}, {name: db}]
policy: {default: alert, allow: [{from: dmz, to: db, ports: [5432]}]}
vms:
  - {name: web-01, zone: dmz, macs: ["00:50:56:00:00:11"], ips: ["10.20.0.11"]}
  - {name: db-01, host: esx-02, zone: db, macs: ["00:50:56:00:00:12"], ips: ["10.20.0.12"]}
"""
VM_RULES = 'alert tcp $ZONE_dmz any -> $ZONE_db any (msg:"dmz to db payload"; content:"SELECT"; sid:7;)\n'


def vm_capture(path):
    """web-01 -> db-01: an allowed flow (5432) with a payload the $ZONE_ rule matches, a flow the
    zone policy does not allow (6379: gid 9000 sid 5), and web-01's MAC claiming db-01's address
    in an ARP reply (gid 9000 sid 1)."""
    from scapy.all import ARP, Ether  # noqa: E402
    cap = Capture()
    web, db = "00:50:56:00:00:11", "00:50:56:00:00:12"
    allowed = pcapgen.TcpSession(cap, "10.20.0.11", "10.20.0.12", 40001, 5432, web, db)
    allowed.handshake()
    allowed.send(b"SELECT * FROM cards")
    allowed.close()
    breach = pcapgen.TcpSession(cap, "10.20.0.11", "10.20.0.12", 40002, 6379, web, db)
    breach.handshake()
    breach.close()
    cap.add(Ether(src=web, dst="ff:ff:ff:ff:ff:ff") / ARP(op=2, hwsrc=web, psrc="10.20.0.12", pdst="10.20.0.1"))
    cap.write(path)


def vm_alert_keys(records):
    """Each alert's gid, sid, pcap_cnt, addresses and its whole `vm` object."""
    return sorted((r["alert"]["gid"], r["alert"]["signature_id"], r.get("pcap_cnt"), r["src_ip"], r["dest_ip"],
                   json.dumps(r.get("vm"), sort_keys=True)) for r in records if r["event_type"] == "alert")


def count_frames(pcap):
    data = open(pcap, "rb").read()
    offset, count = 24, 0
    while offset + 16 <= len(data):
        offset += 16 + int.from_bytes(data[offset + 8:offset + 12], "little")
        count += 1
    return count


def main():
    args = argument_parser("/tmp/eastwatch-dpdk-e2e").parse_args()
    os.environ["TZ"] = "UTC"
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    runner = Runner(args.eastwatch, args.source, args.work)
    for stale in glob.glob(RUNTIME_GLOB):
        shutil.rmtree(stale, ignore_errors=True)

    demo = os.path.join(args.source, "tests", "pcaps", "guest-to-guest-attack.pcap")
    bundled = os.path.join(args.source, "signatures", "rules", "eastwatch.rules")
    # Skip where DPDK cannot run here: say why.
    probe_out = runner.out_dir("probe")
    probe = runner.run(["-q", "--dpdk", "-S", bundled, "-l", probe_out, *runner.eal_set(demo),
                        "--set", "capture.dpdk.idle-exit=1"], expect_rc=None)
    if probe.returncode != 0 and "built without DPDK" in probe.stderr:
        print(f"SKIP dpdk e2e: {probe.stderr.strip()}")
        return 0
    if probe.returncode != 0 and os.geteuid() != 0 and "EAL" in probe.stderr:
        print(f"SKIP dpdk e2e: the DPDK EAL needs root here: {probe.stderr.strip()}")
        return 0

    generated = os.path.join(args.work, "generated.pcap")
    frames = generated_capture(generated)
    rules_path = os.path.join(args.work, "generated.rules")
    with open(rules_path, "w") as f:
        f.write(GENERATED_RULES)

    failed = 0
    cases = [("demo", demo, bundled, count_frames(demo)), ("generated", generated, rules_path, frames)]
    for name, pcap, rules, frame_count in cases:
        try:
            expected = alert_keys(runner.replay(pcap, rules))
            check(len(expected) > 0, f"{name}: -r gives alerts")
            for workers in (1, 2):
                records, stderr, stats_log = runner.dpdk(pcap, rules, workers)
                got = alert_keys(records)
                # Threshold state is shared by the workers: the threshold rule (sid 6, limit 1 per
                # destination) alerts once per destination as with -r, but which of a destination's
                # packets comes first depends on how the workers interleave; everything else as -r.
                if workers > 1:
                    def threshold_dests(keys):
                        return sorted(k[5] for k in keys if k[0] == THRESHOLD_SID)
                    check(threshold_dests(got) == threshold_dests(expected),
                          f"{name}, {workers} workers: sid {THRESHOLD_SID} destinations "
                          f"{threshold_dests(got)}, expected {threshold_dests(expected)}")
                    got = [k for k in got if k[0] != THRESHOLD_SID]
                want = expected if workers == 1 else [k for k in expected if k[0] != THRESHOLD_SID]
                check(got == want, f"{name}, {workers} workers:\n  got      {got}\n  expected {want}")
                stats = stats_of(records)
                check(stats["capture"]["kernel_packets"] == frame_count and stats["capture"]["kernel_drops"] == 0,
                      f"{name}: stats.capture {stats['capture']}")
                check(stats["decoder"]["pkts"] == frame_count, f"{name}: decoder.pkts {stats['decoder']}")
                check("capture.dpdk.ipackets" in stats_log and "capture.dpdk.imissed" in stats_log,
                      f"{name}: the rte_eth_stats counters in stats.log:\n{stats_log}")
                # One queue (no RSS): one worker reads it itself (on the EAL's worker lcore when there
                # is one, else a thread); two are fed by the flow hash.
                layouts = ["on their lcores", "on threads"] if workers == 1 else ["fed by the flow hash"]
                check(any(layout in stderr for layout in layouts), f"{name}, {workers} workers: {layouts} in {stderr}")
            print(f"PASS dpdk replay {name} ({len(expected)} alerts, 1 and 2 workers)")
        except Failure as error:
            print(f"FAIL dpdk replay {name}: {error}")
            failed += 1

    try:
        # The VM inventory on the DPDK path: enrichment, $ZONE_ variables and the built-in
        # detectors exactly as with -r (1 and 2 workers).
        pcap = os.path.join(args.work, "vm.pcap")
        vm_capture(pcap)
        inventory = os.path.join(args.work, "inventory.yaml")
        rules_path = os.path.join(args.work, "vm.rules")
        with open(inventory, "w") as f:
            f.write(INVENTORY)
        with open(rules_path, "w") as f:
            f.write(VM_RULES)
        extra = ("--set", f"inventory.file={inventory}")
        expected = vm_alert_keys(runner.replay(pcap, rules_path, extra=extra))
        sids = [(k[0], k[1]) for k in expected]
        check(sorted(sids) == [(1, 7), (9000, 1), (9000, 5)], f"-r with the inventory: {expected}")
        check(all(k[5] != "null" for k in expected), f"every alert names its VMs: {expected}")
        for workers in (1, 2):
            records, _, stats_log = runner.dpdk(pcap, rules_path, workers, extra)
            got = vm_alert_keys(records)
            check(got == expected, f"inventory, {workers} workers:\n  got      {got}\n  expected {expected}")
            check("inventory.vms" in stats_log and "inventory.bindings" in stats_log,
                  f"inventory counters in stats.log:\n{stats_log}")
        print(f"PASS dpdk inventory ({len(expected)} alerts with vm, 1 and 2 workers)")
    except Failure as error:
        print(f"FAIL dpdk inventory: {error}")
        failed += 1

    try:
        # SIGTERM ends an endless port (infinite_rx replays the file forever): exit 0, stats written.
        out = runner.out_dir("sigterm")
        process = subprocess.Popen([args.eastwatch, "-q", "--dpdk", "-S", bundled, "-l", out,
                                    *runner.eal_set(demo, ",infinite_rx=1")], stderr=subprocess.PIPE, text=True)
        eve = os.path.join(out, "eve.json")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (os.path.exists(eve) and os.path.getsize(eve) > 0):
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
        check(process.returncode == 0, f"SIGTERM: exit {process.returncode}: {stderr}")
        stats = stats_of(runner.records(out))
        check(stats.get("capture", {}).get("kernel_packets", 0) > 0, f"SIGTERM: final stats {stats.get('capture')}")
        check(not glob.glob(RUNTIME_GLOB), f"SIGTERM: EAL runtime files left behind: {glob.glob(RUNTIME_GLOB)}")

        # A port with RSS (net_null: endless 64-byte frames on every queue): one RX queue per
        # worker, each worker polling its own on its own lcore (two lcores mapped onto CPU 1).
        out = runner.out_dir("rss")
        runner.runs += 1
        process = subprocess.Popen(
            [args.eastwatch, "--dpdk", "--workers", "2", "-S", bundled, "-l", out,
             "--set", f'capture.dpdk.eal-args=[--no-huge, --no-pci, -m, "512", --file-prefix, {PREFIX}{runner.runs}, '
             '--log-level, "*:error", --lcores, "0@0,(1,2)@1", --vdev, "net_null0,copy=0"]',
             "--set", "capture.dpdk.ports=[net_null0]"], stderr=subprocess.PIPE, text=True)
        seen = ""
        while "SIGINT/SIGTERM to stop" not in seen:  # printed once the signal handlers are in place
            line = process.stderr.readline()
            if not line:
                break
            seen += line
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
        stderr = seen + stderr
        check(process.returncode == 0, f"RSS: exit {process.returncode}: {stderr}")
        check("2 RX queues each (symmetric RSS), 2 workers on their lcores" in stderr, f"RSS layout: {stderr}")
        stats = stats_of(runner.records(out))
        check(stats["capture"]["kernel_packets"] > 0 and stats["decoder"]["pkts"] == stats["capture"]["kernel_packets"],
              f"RSS: every frame received was decoded: {stats['capture']} {stats['decoder']}")

        # Bad set-ups: exit 2 with one clear line, before any output.
        out = runner.out_dir("errors")
        result = runner.run(["-q", "--dpdk", "-S", bundled, "-l", out, *runner.eal_set(demo),
                             "--set", "capture.dpdk.ports=[net_bogus0]"], expect_rc=2)
        check("eastwatch: dpdk: no port 'net_bogus0'" in result.stderr, result.stderr)
        check(not glob.glob(RUNTIME_GLOB), f"a failed start left EAL files: {glob.glob(RUNTIME_GLOB)}")
        runner.runs += 1
        result = runner.run(["-q", "--dpdk", "-S", bundled, "-l", out, "--set", "capture.dpdk.ports=[net_bogus0]",
                             "--set", f"capture.dpdk.eal-args=[--no-huge, --no-pci, --file-prefix, {PREFIX}{runner.runs}, "
                             "--vdev, net_bogus0]"], expect_rc=2)
        check("eastwatch: dpdk: EAL: " in result.stderr and "(check capture.dpdk.eal-args)" in result.stderr,
              result.stderr)
        check(not glob.glob(RUNTIME_GLOB), f"a failed rte_eal_init left EAL files: {glob.glob(RUNTIME_GLOB)}")
        result = runner.run(["-q", "--dpdk", "-S", bundled, "-l", out], expect_rc=2)
        check("capture.mode dpdk needs capture.dpdk.ports" in result.stderr, result.stderr)
        result = runner.run(["--dpdk", "-r", demo, "-l", out], expect_rc=2)
        check("not both" in result.stderr, result.stderr)
        result = runner.run(["-T", "--set", "capture.mode=netmap"], expect_rc=2)
        check("--set capture.mode=netmap: 'netmap' is not a capture mode (expected pcap or dpdk)" in result.stderr, result.stderr)
        result = runner.run(["-T", "--set", "capture.dpdk.burst-size=65"], expect_rc=2)
        check("--set capture.dpdk.burst-size=65: '65' is not valid (expected an integer from 1 to 64)" in result.stderr,
              result.stderr)
        print("PASS dpdk life cycle and errors")
    except Failure as error:
        print(f"FAIL dpdk life cycle and errors: {error}")
        failed += 1
    finally:
        for stale in glob.glob(RUNTIME_GLOB):
            shutil.rmtree(stale, ignore_errors=True)
    print(f"{failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
