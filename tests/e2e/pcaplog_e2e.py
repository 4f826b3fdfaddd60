#!/usr/bin/python3
"""End-to-end tests of outputs.pcap-log (conditional packet logging): captures written here,
replayed through eastwatch, and the pcap files it logs read back with scapy's raw reader (exact
bytes and microsecond timestamps), with `tcpdump -r` (libpcap) and, where it is installed, with
`tshark -r` (Wireshark's own reader).
What each file must hold is reasoned from the documented rules (history, rotation by size, file
names, Suricata's conditional modes and tag semantics), never pasted from eastwatch's output.

usage: pcaplog_e2e.py --eastwatch BIN --source REPO [--work DIR] [-k SUBSTRING]
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run_e2e  # noqa: E402
from run_e2e import check  # noqa: E402
from pcapgen import Capture, TcpSession  # noqa: E402
from scapy.utils import RawPcapReader  # noqa: E402

CASES = []

RULES = 'alert tcp any any -> any any (msg:"evil request"; content:"EVIL"; sid:1;)\n'


def case(function):
    CASES.append(function)
    return function


def read_pcap(path):
    """[(ts_usec, frame bytes, wire length)] and the file's link type."""
    reader = RawPcapReader(path)
    records = []
    for data, meta in reader:
        records.append((meta.sec * 1_000_000 + meta.usec, bytes(data), meta.wirelen))
    linktype = reader.linktype
    reader.close()
    return records, linktype


def tcpdump_count(path):
    """Packets `tcpdump -r` reads from the file; fails when libpcap rejects it."""
    result = subprocess.run(["tcpdump", "-nn", "-r", path], capture_output=True, text=True, timeout=60)
    check(result.returncode == 0, f"tcpdump -r {path}: rc {result.returncode}: {result.stderr}")
    return len([line for line in result.stdout.splitlines() if line.strip()])


def tshark_count(path):
    """Packets Wireshark's reader (tshark -r, its own wiretap library, not libpcap) reads from
    the file; None where tshark is not installed (install-deps installs it; a machine set up by hand may lack it)."""
    if not shutil.which("tshark"):
        return None
    result = subprocess.run(["tshark", "-n", "-r", path, "-T", "fields", "-e", "frame.number"],
                            capture_output=True, text=True, timeout=60)
    check(result.returncode == 0, f"tshark -r {path}: rc {result.returncode}: {result.stderr}")
    return len([line for line in result.stdout.splitlines() if line.strip()])


def stats_log(out):
    counters = {}
    for line in open(os.path.join(out, "stats.log")):
        parts = [p.strip() for p in line.split("|")]
        if len(parts) == 3 and parts[2].isdigit():
            counters[parts[0]] = int(parts[2])
    return counters


def index(out, filename="log.pcap"):
    return [json.loads(line) for line in open(os.path.join(out, filename + ".index"))]


def logged_files(out, filename="log.pcap"):
    """The pcap files of the log directory in the index's order (the order they were opened)."""
    entries = index(out, filename)
    on_disk = sorted(os.path.basename(p) for p in glob.glob(os.path.join(out, filename + ".*"))
                     if not p.endswith((".index", ".tmp")))
    check(sorted(e["file"] for e in entries) == on_disk, f"index {entries} vs files {on_disk}")
    return [e["file"] for e in entries]


def check_file(out, name, expected, entry=None):
    """The file holds exactly `expected` ((ts_usec, bytes, wirelen) records), opens with tcpdump."""
    path = os.path.join(out, name)
    records, linktype = read_pcap(path)
    check(linktype == 1, f"{name}: link type {linktype}")
    check(len(records) == len(expected), f"{name}: {len(records)} packets, expected {len(expected)}")
    for i, (got, want) in enumerate(zip(records, expected)):
        check(got == want, f"{name}: packet {i + 1} differs: ts {got[0]} vs {want[0]}, "
                           f"{len(got[1])} vs {len(want[1])} bytes")
    check(tcpdump_count(path) == len(expected), f"{name}: tcpdump packet count")
    check(tshark_count(path) in (None, len(expected)), f"{name}: tshark packet count")
    if entry is not None:  # the index's time range and counts are the file's
        check(entry["packets"] == len(expected), f"{name}: index packets {entry}")
        check(entry["first_usec"] == expected[0][0] and entry["last_usec"] == expected[-1][0], f"{name}: {entry}")
        check(entry["bytes"] == os.path.getsize(path), f"{name}: index bytes {entry} vs {os.path.getsize(path)}")
        check("open" not in entry, f"{name}: still open at the end: {entry}")
    return records


def conversation(cap):
    """Flow A (10.0.0.1 -> .2) alerts at its request; flow B (.3 -> .4) never alerts; their
    packets interleave. Returns (A's pcap_cnts before the alert, the alert's, A's after, B's)."""
    a = TcpSession(cap, "10.0.0.1", "10.0.0.2", 40000, 80)
    b = TcpSession(cap, "10.0.0.3", "10.0.0.4", 40001, 80)
    before, after, b_packets = [], [], []
    a.cap.add(a._frame(True, "S"))
    before.append(len(cap.packets))
    a.cseq += 1
    b.cap.add(b._frame(True, "S"))
    b_packets.append(len(cap.packets))
    b.cseq += 1
    cap.add(a._frame(False, "SA"))
    before.append(len(cap.packets))
    a.sseq += 1
    cap.add(b._frame(False, "SA"))
    b_packets.append(len(cap.packets))
    b.sseq += 1
    before.append(cap.add(a._frame(True, "A")))
    b_packets.append(cap.add(b._frame(True, "A")))
    for i in range(5):
        before.append(a.send(b"hello %d" % i))
        b_packets.append(b.send(b"benign %d" % i))
    alert = a.send(b"GET /EVIL HTTP/1.1\r\n\r\n")
    b_packets.append(b.send(b"more"))
    after.append(a.send(b"HTTP/1.1 200 OK\r\n\r\n", to_server=False))
    b_packets.append(b.send(b"HTTP/1.1 200 OK\r\n\r\n", to_server=False))
    after.append(a.send(b"bye"))
    b_packets.append(b.send(b"bye"))
    return before, alert, after, b_packets


def pcaplog_args(*settings):
    arguments = ["--set", "outputs.pcap-log.enabled=yes"]
    for setting in settings:
        arguments += ["--set", "outputs.pcap-log." + setting]
    return arguments


@case
def alerting_flow_with_history(env):
    """Only the alerting flow is logged: its last `history` packets before the alert, the alert,
    everything after; the other flow's packets never. Exact bytes, timestamps and lengths; the
    alert names the file (capture_file, pcap_log.file) and the packet's position in it."""
    cap = Capture()
    before, alert, after, _ = conversation(cap)
    cap.write(env.path("in.pcap"))
    frames, _ = read_pcap(env.path("in.pcap"))
    for history in (4, 8, 0):
        out = env.path(f"out-{history}")
        os.makedirs(out)
        env.dir_out = out
        rules = env.write("test.rules", RULES)
        env.run("-r", env.path("in.pcap"), "-S", rules, "-l", out, "-q", *pcaplog_args(f"history={history}"),
                "--set", "outputs.eve.alert.packet=yes")
        env.validate(os.path.join(out, "eve.json"))
        records = [json.loads(line) for line in open(os.path.join(out, "eve.json"))]
        alerts = [r for r in records if r["event_type"] == "alert"]
        check([a["pcap_cnt"] for a in alerts] == [alert], f"alerts {[a['pcap_cnt'] for a in alerts]}")
        kept = before[-history:] if history else []
        expected = [frames[n - 1] for n in kept + [alert] + after]
        files = logged_files(out)
        # The first packet logged names the file: log.pcap.<its second>.
        check(files == [f"log.pcap.{expected[0][0] // 1_000_000}"], f"files {files}")
        check_file(out, files[0], expected, index(out)[0])
        a = alerts[0]
        check(a["capture_file"] == os.path.join(out, files[0]), f"capture_file {a['capture_file']}")
        check(os.path.exists(a["capture_file"]), "capture_file exists")
        check(a["pcap_log"] == {"file": files[0], "packet": len(kept) + 1}, f"pcap_log {a['pcap_log']}")
        logged, _ = read_pcap(a["capture_file"])
        check(logged[a["pcap_log"]["packet"] - 1] == frames[alert - 1], "the named position holds the alert's packet")
        # outputs.eve.alert.packet: the frame itself, base64.
        import base64
        check(base64.b64decode(a["packet"]) == frames[alert - 1][1], "alert.packet is the frame")
        counters = stats_log(out)
        check(counters.get("pcap_log.packets") == len(expected), f"pcap_log.packets {counters.get('pcap_log.packets')}")
        check(counters.get("pcap_log.history_packets") == len(kept), "pcap_log.history_packets")
        check(counters.get("pcap_log.written") == len(expected), "pcap_log.written")
        check(counters.get("pcap_log.dropped") == 0, "pcap_log.dropped")


@case
def rotation_by_size_and_max_files(env):
    """limit: a packet that would take the file past it opens the next file (names: the first
    packet's second, then .1, .2 ... within that second); the files together hold the flow's
    packets in order. max-files keeps the newest ones and counts the deleted."""
    cap = Capture()
    s = TcpSession(cap, "10.0.0.1", "10.0.0.2", 40000, 80)
    s.handshake()
    s.send(b"EVIL start")
    for i in range(30):
        s.send(bytes([65 + i % 26]) * 150, to_server=i % 2 == 0)
    s.close()
    cap.write(env.path("in.pcap"))
    frames, _ = read_pcap(env.path("in.pcap"))
    limit = 2048
    # Pack by the rule: 24-byte file header, 16 bytes per record header.
    expected_files, size = [], 0
    for frame in frames:
        record = 16 + len(frame[1])
        if not expected_files or size + record > limit:
            expected_files.append([])
            size = 24
        expected_files[-1].append(frame)
        size += record
    check(len(expected_files) >= 4, f"the capture should need several files: {len(expected_files)}")
    second = frames[0][0] // 1_000_000
    check(all(f[0] // 1_000_000 == second for f in frames), "all in one second")
    names = [f"log.pcap.{second}"] + [f"log.pcap.{second}.{k}" for k in range(1, len(expected_files))]
    rules = env.write("test.rules", RULES)

    out = env.path("out")
    os.makedirs(out)
    env.run("-r", env.path("in.pcap"), "-S", rules, "-l", out, "-q", *pcaplog_args(f"limit={limit}", "max-files=0"))
    env.validate(os.path.join(out, "eve.json"))
    files = logged_files(out)
    check(files == names, f"files {files}, expected {names}")
    entries = index(out)
    union = []
    for name, want, entry in zip(files, expected_files, entries):
        check(os.path.getsize(os.path.join(out, name)) <= limit, f"{name} past the limit")
        union += check_file(out, name, want, entry)
    check(union == frames, "the files together hold every packet of the flow, in order")
    alert = next(r for r in map(json.loads, open(os.path.join(out, "eve.json"))) if r["event_type"] == "alert")
    check(alert["pcap_log"] == {"file": names[0], "packet": 4}, f"pcap_log {alert['pcap_log']}")

    keep = 2
    out2 = env.path("out-max")
    os.makedirs(out2)
    env.run("-r", env.path("in.pcap"), "-S", rules, "-l", out2, "-q",
            *pcaplog_args(f"limit={limit}", f"max-files={keep}", "ts-format=usec"))
    files = logged_files(out2)
    # ts-format usec: <sec>.<usec, 6 digits> of each file's first packet.
    starts = [f[0][0] for f in expected_files[-keep:]]
    want = [f"log.pcap.{t // 1_000_000}.{t % 1_000_000:06d}" for t in starts]
    check(files == want, f"max-files: {files}, expected {want}")
    for name, records, entry in zip(files, expected_files[-keep:], index(out2)):
        check_file(out2, name, records, entry)
    counters = stats_log(out2)
    check(counters.get("pcap_log.files") == len(expected_files), f"pcap_log.files {counters.get('pcap_log.files')}")
    check(counters.get("pcap_log.files_deleted") == len(expected_files) - keep, "pcap_log.files_deleted")


@case
def several_workers(env):
    """--workers 2: each worker writes its own files, log.pcap.<worker>.<sec>; every alerting
    flow's packets are logged in arrival order, the quiet flow's never."""
    cap = Capture()
    flows = []
    for i in range(4):
        flows.append(TcpSession(cap, f"10.0.1.{i + 1}", f"10.0.2.{i + 1}", 41000 + i, 80))
    for s in flows:
        s.handshake()
    numbers = {i: [1 + 3 * i, 2 + 3 * i, 3 + 3 * i] for i in range(4)}
    for round_ in range(3):
        for i, s in enumerate(flows):
            payload = b"EVIL %d" % i if round_ == 1 and i != 3 else b"data %d %d" % (i, round_)
            numbers[i].append(s.send(payload))
    cap.write(env.path("in.pcap"))
    frames, _ = read_pcap(env.path("in.pcap"))
    rules = env.write("test.rules", RULES)
    out = env.path("out")
    os.makedirs(out)
    env.run("-r", env.path("in.pcap"), "-S", rules, "-l", out, "-q", "--workers", "2", *pcaplog_args("history=8"))
    env.validate(os.path.join(out, "eve.json"))
    files = logged_files(out)
    second = frames[0][0] // 1_000_000
    check(files and all(re.fullmatch(rf"log\.pcap\.[12]\.{second}", f) for f in files), f"files {files}")
    logged = []
    for name in files:
        records, _ = read_pcap(os.path.join(out, name))
        check(tcpdump_count(os.path.join(out, name)) == len(records), "tcpdump")
        logged += records
    for i in range(3):  # flows 0-2 alerted: every packet of theirs, in order
        want = [frames[n - 1] for n in numbers[i]]
        got = [r for r in logged if r in want]
        check(got == want, f"flow {i}: {len(got)} packets logged of {len(want)}, or out of order")
    check(not any(frames[n - 1] in logged for n in numbers[3]), "the quiet flow is not logged")
    check(len(logged) == sum(len(numbers[i]) for i in range(3)), f"{len(logged)} packets logged")


@case
def conditional_all(env):
    """conditional: all logs every packet, alerting or not, as captured."""
    cap = Capture()
    conversation(cap)
    cap.write(env.path("in.pcap"))
    frames, _ = read_pcap(env.path("in.pcap"))
    rules = env.write("test.rules", RULES)
    out = env.path("out")
    os.makedirs(out)
    env.run("-r", env.path("in.pcap"), "-S", rules, "-l", out, "-q", *pcaplog_args("conditional=all"))
    files = logged_files(out)
    check(len(files) == 1, f"files {files}")
    check_file(out, files[0], frames, index(out)[0])


@case
def tagged_packets(env):
    """A host tag (tag:host,3,packets,src) tags the 2 packets after its alert that involve the
    tagging host (the alerting packet counts as the first), here those of a new flow: they are
    logged alone, each with its "Tagged Packet" alert naming its position, and (as in Suricata)
    the tag does not make their flow an alerting one. conditional: tag logs only the packet that
    set the tag and the tagged ones."""
    cap = Capture()
    a = TcpSession(cap, "10.0.0.1", "10.0.0.2", 40000, 80)
    a.handshake()
    a_before = [1, 2, 3]
    alert = a.send(b"TAGME")
    c = TcpSession(cap, "10.0.0.1", "10.0.0.5", 40002, 22)
    c_first = c.handshake()  # packets 5, 6, 7: 5 and 6 are tagged
    c_rest = [c.send(b"SSH-2.0-x"), c.send(b"more")]
    a_after = [a.send(b"later")]
    cap.write(env.path("in.pcap"))
    frames, _ = read_pcap(env.path("in.pcap"))
    check(c_first == 7, "packet numbers")
    tagged = [5, 6]
    rules = env.write("test.rules", 'alert tcp any any -> any any (msg:"tag host"; content:"TAGME"; '
                                    'tag:host,3,packets,src; sid:2;)\n')
    for mode, want in (("alerts", a_before + [alert] + tagged + a_after), ("tag", [alert] + tagged)):
        out = env.path("out-" + mode)
        os.makedirs(out)
        env.run("-r", env.path("in.pcap"), "-S", rules, "-l", out, "-q", *pcaplog_args("conditional=" + mode))
        env.validate(os.path.join(out, "eve.json"))
        files = logged_files(out)
        check(len(files) == 1, f"{mode}: files {files}")
        check_file(out, files[0], [frames[n - 1] for n in want], index(out)[0])
        alerts = [r for r in map(json.loads, open(os.path.join(out, "eve.json"))) if r["event_type"] == "alert"]
        tag_alerts = [x for x in alerts if x["alert"]["gid"] == 2]
        check([x["pcap_cnt"] for x in tag_alerts] == tagged, f"{mode}: tagged {[x['pcap_cnt'] for x in tag_alerts]}")
        for x in alerts:
            check(x["pcap_log"]["file"] == files[0] and x["pcap_log"]["packet"] == want.index(x["pcap_cnt"]) + 1,
                  f"{mode}: {x['pcap_cnt']} named {x['pcap_log']}")
    del c_rest


@case
def bad_config(env):
    """A bad pcap-log key is FILE:LINE: key: what is wrong, exit 2."""
    config = env.write("bad.yaml", "outputs:\n  pcap-log:\n    enabled: yes\n    conditional: sometimes\n")
    rules = env.write("test.rules", RULES)
    result = env.run("-T", "-S", rules, "-c", config, expect_rc=2)
    check("bad.yaml:4" in result.stderr and "outputs.pcap-log.conditional" in result.stderr
          and "alerts, tag, all" in result.stderr, result.stderr)
    config = env.write("bad2.yaml", "outputs:\n  pcap-log:\n    filename: a/b\n")
    result = env.run("-T", "-S", rules, "-c", config, expect_rc=2)
    check("bad2.yaml:3" in result.stderr and "outputs.pcap-log.filename" in result.stderr, result.stderr)


def main():
    return run_e2e.run_cases(CASES, "/tmp/eastwatch-pcaplog-e2e")

if __name__ == "__main__":
    del run_e2e.CASES[:]  # only this file's cases
    sys.exit(main())
