#!/usr/bin/python3
"""Golden tests of the built-in VM detectors' learned bindings (sensor/vmdetect): sid 1 with
bindings learned from ARP, DHCP acks and IPv6 ND, gratuitous-ARP floods, sid 2's VLAN / VNI /
ERSPAN-session half (inner VLAN tags inside encapsulations included), sid 3 for DHCPv6, the
learned table's memcap and eviction, and the rate limit. Each case writes its capture with
scapy, replays it with an inventory, and compares the alerts with the ones reasoned from the
detectors' documented rules (sensor/vmdetect/README.md). Every eve.json is schema-validated.

usage: vmdetect_e2e.py --eastwatch BIN --source REPO [--work DIR] [-k SUBSTRING]
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run_e2e  # noqa: E402
from run_e2e import Capture, check  # noqa: E402

CASES = []


def case(function):
    CASES.append(function)
    return function


INVENTORY = """sensor: {host: esx-01}
zones: [{name: dmz}, {name: infra}]
policy: {default: allow}
vms:
  - {name: web-01, zone: dmz, vlan: 10, macs: ["00:50:56:00:00:11"], ips: ["10.20.0.11", "fe80::250:56ff:fe00:11"]}
  - {name: db-01, host: esx-02, zone: dmz, macs: [{mac: "00:50:56:00:00:12", vni: 5001, mirror-session: 12}],
     ips: ["10.20.0.12"]}
  - {name: app-01, zone: dmz, macs: ["00:50:56:00:00:13"], ips: ["10.20.0.13", "fe80::250:56ff:fe00:13"]}
  - {name: dhcp-01, zone: infra, macs: ["00:50:56:00:00:02"], ips: ["10.20.0.2", "fe80::2"], roles: [dhcp-server]}
  - {name: gw-01, zone: infra, macs: ["00:50:56:00:00:01"], ips: ["10.20.0.1"], roles: [router]}
"""
WEB, DB, APP, DHCP, GW = ("00:50:56:00:00:11", "00:50:56:00:00:12", "00:50:56:00:00:13", "00:50:56:00:00:02",
                          "00:50:56:00:00:01")
STRANGER, OTHER = "00:50:56:00:00:77", "00:50:56:00:00:78"
BCAST = "ff:ff:ff:ff:ff:ff"
NEVER_RULE = 'alert tcp any any -> any any (msg:"x"; content:"never"; sid:1;)\n'


def replay(env, cap, name, *extra):
    """Replays `cap` with INVENTORY; returns (alerts, [(pcap_cnt, gid, sid)], stats, stats.log text)."""
    pcap = env.path(name)
    cap.write(pcap)
    inventory = env.write("inventory.yaml", INVENTORY)
    for log in ("eve.json", "stats.log"):  # EVE appends, as Suricata's does: one run per file
        if os.path.exists(env.path(f"out/{log}")):
            os.remove(env.path(f"out/{log}"))
    alerts, stats = env.replay([pcap], NEVER_RULE, "--set", f"inventory.file={inventory}", *extra)
    stats_log = open(env.path("out/stats.log")).read()
    return alerts, [(a["pcap_cnt"], a["alert"]["gid"], a["alert"]["signature_id"]) for a in alerts], stats, stats_log


def stats_value(stats_log, name):
    """The last value of counter `name` in stats.log (Suricata's `name | TM | value` lines)."""
    value = None
    for line in stats_log.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) == 3 and parts[0] == name:
            value = int(parts[2])
    check(value is not None, f"{name} not in stats.log")
    return value


def arp(cap, mac, psrc, pdst, op=2, hwsrc=None, vlan=None, gap_usec=None):
    from scapy.all import ARP, Dot1Q, Ether
    frame = Ether(src=mac, dst=BCAST)
    if vlan is not None:
        frame = frame / Dot1Q(vlan=vlan)
    return cap.add(frame / ARP(op=op, hwsrc=hwsrc or mac, psrc=psrc, pdst=pdst), gap_usec)


def neighbour_advert(cap, mac, src, target, lladdr, hlim=255):
    from scapy.all import ICMPv6ND_NA, ICMPv6NDOptDstLLAddr, IPv6, Ether
    return cap.add(Ether(src=mac, dst="33:33:00:00:00:01") / IPv6(src=src, dst="ff02::1", hlim=hlim) /
                   ICMPv6ND_NA(tgt=target, R=0, S=0, O=1) / ICMPv6NDOptDstLLAddr(lladdr=lladdr))


@case
def learned_bindings_arp_nd_dhcp(env):
    """sid 1 beyond the inventory: 10.20.0.50 (no VM's) is learned for a stranger's MAC from its
    ARP reply, so web-01's MAC claiming it alerts (vm.src web-01); fe80::50 is learned from the
    stranger's NA target link-layer option, so web-01's NA for it alerts; dhcp-01 (a dhcp-server)
    acks 10.20.0.60 to app-01, so web-01's claim of .60 alerts. The stranger confirming its own
    binding, an NA with hop limit 64 (hosts ignore it), and a claim of .61 that a rogue server's
    ack (sid 3) gave to app-01 (not learned: the first claim teaches it) do not. An unknown MAC
    claiming db-01's address contradicts the inventory."""
    from scapy.all import BOOTP, DHCP as DHCPOPT, IP, UDP, Ether
    cap = Capture()
    learn_v4 = arp(cap, STRANGER, "10.20.0.50", "10.20.0.1")
    spoof_v4 = arp(cap, WEB, "10.20.0.50", "10.20.0.1")
    confirm = arp(cap, STRANGER, "10.20.0.50", "10.20.0.1")
    learn_v6 = neighbour_advert(cap, STRANGER, "fe80::50", "fe80::50", STRANGER)
    spoof_v6 = neighbour_advert(cap, WEB, "fe80::250:56ff:fe00:11", "fe80::50", WEB)
    ignored_v6 = neighbour_advert(cap, OTHER, "fe80::51", "fe80::50", OTHER, hlim=64)

    def ack(mac, src, yiaddr):
        return cap.add(Ether(src=mac, dst=BCAST) / IP(src=src, dst="255.255.255.255") / UDP(sport=67, dport=68) /
                       BOOTP(op=2, chaddr=b"\x00\x50\x56\x00\x00\x13" + bytes(10), yiaddr=yiaddr) /
                       DHCPOPT(options=[("message-type", "ack"), "end"]))
    ack(DHCP, "10.20.0.2", "10.20.0.60")
    after_ack = arp(cap, WEB, "10.20.0.60", "10.20.0.1")
    rogue_ack = ack(STRANGER, "10.20.0.77", "10.20.0.61")
    first_claim = arp(cap, WEB, "10.20.0.61", "10.20.0.1")
    stranger_db = arp(cap, STRANGER, "10.20.0.12", "10.20.0.1")
    alerts, got, stats, stats_log = replay(env, cap, "learned.pcap")
    want = [(spoof_v4, 9000, 1), (spoof_v6, 9000, 1), (after_ack, 9000, 1), (rogue_ack, 9000, 3),
            (stranger_db, 9000, 1)]
    check(got == want, f"alerts {got}\n expected {want} (confirm {confirm}, learn {learn_v4}/{learn_v6}, "
          f"hop limit 64 {ignored_v6}, first claim {first_claim})")
    by_cnt = {a["pcap_cnt"]: a for a in alerts}
    check(by_cnt[spoof_v4]["alert"]["signature"].startswith("EASTWATCH VM ARP/ND spoofing"), by_cnt[spoof_v4]["alert"])
    check(by_cnt[spoof_v4]["src_ip"] == "10.20.0.50" and by_cnt[spoof_v4]["dest_ip"] == "10.20.0.1", "ARP addresses")
    check(by_cnt[spoof_v4]["vm"]["src"]["name"] == "web-01", f"the claimant: {by_cnt[spoof_v4].get('vm')}")
    check(by_cnt[spoof_v6]["src_ip"] == "fe80:0000:0000:0000:0000:0000:0000:0050" or
          by_cnt[spoof_v6]["src_ip"] == "fe80::50", f"the claimed address: {by_cnt[spoof_v6]['src_ip']}")
    check(by_cnt[spoof_v6]["proto"] == "IPv6-ICMP" and by_cnt[spoof_v6]["icmp_type"] == 136, f"{by_cnt[spoof_v6]}")
    check(stats_value(stats_log, "detect.vm_arp_spoofing") == 3, "three ARP alerts")
    check(stats_value(stats_log, "detect.vm_nd_spoofing") == 1, "one ND alert")
    # learned: .50, fe80::50, .60 (the ack), .61 (first claim); conflicts: .50 by web, fe80::50 by web, .60 by web
    check(stats_value(stats_log, "inventory.bindings") == 4, "entries")
    check(stats_value(stats_log, "inventory.bindings_conflicts") == 3, "conflicts")
    check(stats["detect"]["alert"] == 5, "gid 9000 alerts count in detect.alert")


@case
def learning_off_and_aging(env):
    """vm-detect.arp-spoofing.learn: no checks only the inventory (web-01 claiming .50 after the
    stranger: no alert; an unknown MAC claiming db-01's address: alert). With timeout 10, a
    binding not confirmed for 10 s ages out: web-01 claiming .50 11 s after the stranger's last
    claim takes it over without an alert, and the stranger then contradicts web-01's binding."""
    cap = Capture()
    arp(cap, STRANGER, "10.20.0.50", "10.20.0.1")
    arp(cap, WEB, "10.20.0.50", "10.20.0.1")
    stranger_db = arp(cap, STRANGER, "10.20.0.12", "10.20.0.1")
    _, got, _, _ = replay(env, cap, "off.pcap", "--set", "vm-detect.arp-spoofing.learn=no")
    check(got == [(stranger_db, 9000, 1)], f"learning off: {got}")
    cap = Capture()
    arp(cap, STRANGER, "10.20.0.50", "10.20.0.1")
    early = arp(cap, WEB, "10.20.0.50", "10.20.0.1", gap_usec=9_000_000)  # 9 s: live
    arp(cap, WEB, "10.20.0.50", "10.20.0.1", gap_usec=2_000_000)            # 11 s after: aged out
    back = arp(cap, STRANGER, "10.20.0.50", "10.20.0.1")
    _, got, _, stats_log = replay(env, cap, "aging.pcap", "--set", "vm-detect.arp-spoofing.timeout=10")
    check(got == [(early, 9000, 1), (back, 9000, 1)], f"aging: {got}")
    check(stats_value(stats_log, "inventory.bindings_replaced") == 1, "one binding replaced after aging out")


@case
def gratuitous_arp_flood(env):
    """sid 1's flood half with gratuitous-flood {count: 5, seconds: 10}: app-01 announcing its
    own address 12 times 100 ms apart alerts once, at the 6th; db-01 announcing 5 times does
    not; app-01 again 10 s after its first burst starts a new window and alerts at its 6th."""
    cap = Capture()
    burst = [arp(cap, APP, "10.20.0.13", "10.20.0.13", op=1, gap_usec=100_000) for _ in range(12)]
    for _ in range(5):
        arp(cap, DB, "10.20.0.12", "10.20.0.12", op=1, gap_usec=100_000)
    second = [arp(cap, APP, "10.20.0.13", "10.20.0.13", op=2, gap_usec=10_000_000 if i == 0 else 100_000)
              for i in range(6)]
    alerts, got, _, stats_log = replay(env, cap, "garp.pcap", "--set", "vm-detect.arp-spoofing.gratuitous-flood.count=5",
                                       "--set", "vm-detect.arp-spoofing.gratuitous-flood.seconds=10")
    check(got == [(burst[5], 9000, 1), (second[5], 9000, 1)], f"alerts {got}")
    check(alerts[0]["vm"]["src"]["name"] == "app-01", f"{alerts[0].get('vm')}")
    check(stats_value(stats_log, "detect.vm_garp_flood") == 2, "two flood alerts")
    check(stats_value(stats_log, "detect.vm_arp_spoofing") == 0, "own announcements are no spoofing")


def syn(mac, src, sport, vlan=None):
    from scapy.all import IP, TCP, Dot1Q, Ether
    frame = Ether(src=mac, dst=GW)
    if vlan is not None:
        frame = frame / Dot1Q(vlan=vlan)
    return frame / IP(src=src, dst="10.20.0.99") / TCP(sport=sport, dport=80, flags="S")


def vxlan(vni, frame, n):
    from scapy.all import IP, UDP, Ether, Raw
    return (Ether(src="00:50:56:aa:00:01", dst="00:50:56:aa:00:09") / IP(src="192.168.50.5", dst="192.168.50.9") /
            UDP(sport=49152 + n, dport=4789) / Raw(b"\x08\x00\x00\x00" + (vni << 8).to_bytes(4, "big") + bytes(frame)))


def erspan2(session, vlan, frame, n):
    from scapy.all import IP, Ether, Raw
    header = ((1 << 12) | vlan).to_bytes(2, "big") + session.to_bytes(2, "big") + (3).to_bytes(4, "big")
    return (Ether(src="00:50:56:aa:00:01", dst="00:50:56:aa:00:09") /
            IP(src="192.168.50.5", dst="192.168.50.9", proto=47) /
            Raw(run_e2e._gre(0x1000, 0x88BE, sequence=n) + header + bytes(frame)))


@case
def mac_on_wrong_vlan_vni_session(env):
    """sid 2's segment half, at the first packet of each flow direction: web-01 (inventory vlan
    10) on VLAN 20; db-01 (its MAC's vni 5001, mirror-session 12) in VNI 5002 and in ERSPAN
    session 13; app-01 (nothing in the inventory) first seen inside VNI 6000 with inner VLAN 40,
    then with inner VLAN 41 (learned). Not: web-01 on VLAN 10 or untagged, db-01 in VNI 5001 and
    session 12, gw-01 (a router) on VLANs 20 and 30, a second SYN of the VLAN 20 flow."""
    cap = Capture()
    ok_web = cap.add(syn(WEB, "10.20.0.11", 1000, vlan=10))
    bad_web = cap.add(syn(WEB, "10.20.0.11", 1001, vlan=20))
    again = cap.add(syn(WEB, "10.20.0.11", 1001, vlan=20))  # the same flow's retransmitted SYN
    untagged = cap.add(syn(WEB, "10.20.0.11", 1002))
    ok_db = cap.add(vxlan(5001, syn(DB, "10.20.0.12", 2000), 1))
    bad_vni = cap.add(vxlan(5002, syn(DB, "10.20.0.12", 2001), 2))
    ok_session = cap.add(erspan2(12, 0, syn(DB, "10.20.0.12", 2002), 3))
    bad_session = cap.add(erspan2(13, 0, syn(DB, "10.20.0.12", 2003), 4))
    learn_app = cap.add(vxlan(6000, syn(APP, "10.20.0.13", 3000, vlan=40), 5))
    bad_inner_vlan = cap.add(vxlan(6000, syn(APP, "10.20.0.13", 3001, vlan=41), 6))
    router = [cap.add(syn(GW, "10.20.0.1", 4000 + vlan, vlan=vlan)) for vlan in (20, 30)]
    alerts, got, _, stats_log = replay(env, cap, "segments.pcap")
    want = [(bad_web, 9000, 2), (bad_vni, 9000, 2), (bad_session, 9000, 2), (bad_inner_vlan, 9000, 2)]
    check(got == want, f"alerts {got}\n expected {want} (fine: {ok_web}, {again}, {untagged}, {ok_db}, "
          f"{ok_session}, {learn_app}, router {router})")
    by_cnt = {a["pcap_cnt"]: a for a in alerts}
    check(by_cnt[bad_web]["alert"]["signature"].startswith("EASTWATCH VM MAC spoofing"), by_cnt[bad_web]["alert"])
    check(by_cnt[bad_web]["vlan"] == [20], f"the VLAN it was seen on: {by_cnt[bad_web].get('vlan')}")
    check(by_cnt[bad_web]["vm"]["src"]["name"] == "web-01", f"{by_cnt[bad_web].get('vm')}")
    check(by_cnt[bad_vni]["mirror"]["vni"] == 5002 and by_cnt[bad_vni]["vm"]["src"]["name"] == "db-01",
          f"{by_cnt[bad_vni].get('mirror')} {by_cnt[bad_vni].get('vm')}")
    check(by_cnt[bad_session]["mirror"]["session_id"] == 13, f"{by_cnt[bad_session].get('mirror')}")
    check(by_cnt[bad_inner_vlan]["vlan"] == [41] and by_cnt[bad_inner_vlan]["mirror"]["vni"] == 6000,
          f"the inner tag: {by_cnt[bad_inner_vlan]}")
    check(stats_value(stats_log, "detect.vm_mac_segment") == 4, "segment alerts")
    check(stats_value(stats_log, "inventory.segments_conflicts") == 1, "one learned conflict (app-01)")


@case
def dhcpv6_rogue_server(env):
    """sid 3 for DHCPv6: web-01 sending an ADVERTISE and a REPLY (UDP 547 -> 546) alerts (once per
    message, vm.src web-01); dhcp-01 (roles: [dhcp-server]) answering and app-01's SOLICIT do not."""
    from scapy.all import UDP, IPv6, Ether, DHCP6_Advertise, DHCP6_Reply, DHCP6_Solicit
    cap = Capture()
    web_ll, app_ll = "fe80::250:56ff:fe00:11", "fe80::250:56ff:fe00:13"
    solicit = cap.add(Ether(src=APP, dst="33:33:00:01:00:02") / IPv6(src=app_ll, dst="ff02::1:2") /
                      UDP(sport=546, dport=547) / DHCP6_Solicit(trid=1))
    legit = cap.add(Ether(src=DHCP, dst=APP) / IPv6(src="fe80::2", dst=app_ll) / UDP(sport=547, dport=546) /
                    DHCP6_Advertise(trid=1))
    rogue = cap.add(Ether(src=WEB, dst=APP) / IPv6(src=web_ll, dst=app_ll) / UDP(sport=547, dport=546) /
                    DHCP6_Advertise(trid=1))
    rogue_reply = cap.add(Ether(src=WEB, dst=APP) / IPv6(src=web_ll, dst=app_ll) / UDP(sport=547, dport=546) /
                          DHCP6_Reply(trid=2))
    legit_reply = cap.add(Ether(src=DHCP, dst=APP) / IPv6(src="fe80::2", dst=app_ll) / UDP(sport=547, dport=546) /
                          DHCP6_Reply(trid=2))
    alerts, got, _, _ = replay(env, cap, "dhcpv6.pcap")
    check(got == [(rogue, 9000, 3), (rogue_reply, 9000, 3)],
          f"alerts {got} (solicit {solicit}, legit {legit}/{legit_reply})")
    check(alerts[0]["alert"]["signature"] == "EASTWATCH VM rogue DHCP server", f"{alerts[0]['alert']}")
    check((alerts[0]["src_port"], alerts[0]["dest_port"]) == (547, 546), "ports")
    check(alerts[0]["vm"]["src"]["name"] == "web-01" and alerts[0]["vm"]["dest"]["name"] == "app-01",
          f"{alerts[0].get('vm')}")


@case
def binding_table_memcap_and_rate_limit(env):
    """arp-spoofing.memcap 64kb holds 256 buckets of 4 bindings (1,024): 6,000 distinct senders
    fill every bucket, so 6,000 are learned, 1,024 stay and 4,976 live ones are evicted (counted).
    Then 15 claims of db-01's address by a stranger within a second: 10 alerts (rate-limit
    alerts 10 per 60 s per sid and address), 5 counted as rate-limited."""
    from scapy.all import ARP, Ether
    cap = Capture(step_usec=10)
    for i in range(6000):
        mac = "02:00:00:00:%02x:%02x" % (i >> 8, i & 0xff)
        cap.add(Ether(src=mac, dst=BCAST) / ARP(op=2, hwsrc=mac, psrc="10.30.%d.%d" % (i >> 8, i & 0xff),
                                                 pdst="10.30.255.254"))
    spoofs = [arp(cap, STRANGER, "10.20.0.12", "10.20.0.1") for _ in range(15)]
    _, got, _, stats_log = replay(env, cap, "memcap.pcap", "--set", "vm-detect.arp-spoofing.memcap=64kb")
    check(got == [(n, 9000, 1) for n in spoofs[:10]], f"alerts {got}")
    check(stats_value(stats_log, "inventory.bindings_learned") == 6000, "learned")
    check(stats_value(stats_log, "inventory.bindings") == 1024, "entries: the memcap's capacity")
    check(stats_value(stats_log, "inventory.bindings_evicted") == 6000 - 1024, "evictions counted")
    check(stats_value(stats_log, "detect.vm_rate_limited") == 5, "rate-limited")


def main():
    return run_e2e.run_cases(CASES, "/tmp/eastwatch-vmdetect-e2e")

if __name__ == "__main__":
    sys.exit(main())
