#!/usr/bin/python3
"""The scan (gid 9000 sid 6) and brute-force (sid 7) detectors with several workers.

Flows are spread over workers by a symmetric hash of both ends and ports, so one source's probes
of many ports, many neighbours or one service land on different workers; the counts are shared
by the run's workers (sensor/vmdetect/scan_tracker.hpp), so `--workers 2` and `--workers 4` must
give the same sids as one worker: the golden cases of run_e2e.py (port_scan_of_a_neighbour,
ssh_brute_force_between_guests) plus a host sweep. Which packet alerts may differ with the
workers' interleaving, so the (gid, sid) lists are compared, and the alert's source and target.

usage: sharedscan_e2e.py --eastwatch BIN --source REPO [--work DIR] [--sanitized] [-k SUBSTRING]
"""
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from run_e2e import (APP_MAC, run_cases, DB_MAC, GUEST_INVENTORY, NEVER_RULE, WEB_MAC, Capture,  # noqa: E402
                     TcpSession, check, udp_packet)

CASES = []


def case(function):
    CASES.append(function)
    return function


def replay(env, cap, name, workers):
    """(gid, sid, src_ip, dest_ip, dest_port) of every alert, in order, and the stats record."""
    pcap = env.path(name)
    if not os.path.exists(pcap):
        cap.write(pcap)
    inventory = env.write("guests.yaml", GUEST_INVENTORY)
    shutil.rmtree(env.path("out"), ignore_errors=True)  # eve.json is appended to
    alerts, stats = env.replay([pcap], NEVER_RULE, "--set", f"inventory.file={inventory}", "--workers", str(workers))
    got = [(a["alert"]["gid"], a["alert"]["signature_id"], a["src_ip"], a["dest_ip"]) for a in alerts]
    return got, stats


def same_with_workers(env, cap, name, expected):
    """`expected` alerts, and detect.alert counting each once, with 1, 2 and 4 workers."""
    for workers in (1, 2, 4):
        got, stats = replay(env, cap, name, workers)
        check(got == expected, f"--workers {workers}: alerts {got}, expected {expected}")
        detect = stats["detect"] if stats else {}
        check(detect.get("alert") == len(expected), f"--workers {workers}: detect.alert {detect.get('alert')}")


@case
def port_scan_with_workers(env):
    """run_e2e's port_scan_of_a_neighbour: web-01's SYNs to 30 ports of db-01 (each refused) are
    one scan (more than vm-detect.scan.ports 20): one sid 6 from web-01 to db-01 however many
    workers took the 30 flows; app-01's 5 connections to two ports do not alert."""
    cap = Capture()
    for i in range(5):
        TcpSession(cap, "10.20.0.13", "10.20.0.12", 42000 + i, 5432 if i % 2 else 80, APP_MAC, DB_MAC).handshake()
    for port in range(1, 31):
        TcpSession(cap, "10.20.0.11", "10.20.0.12", 43000 + port, port, WEB_MAC, DB_MAC).refused()
    same_with_workers(env, cap, "scan.pcap", [(9000, 6, "10.20.0.11", "10.20.0.12")])


@case
def host_sweep_with_workers(env):
    """web-01 sends one UDP datagram (port 161) to each of 15 unused addresses of its /24: more
    than vm-detect.scan.hosts 10 neighbours, one sid 6 (the 11th's target differs with the
    interleaving, so only the source is compared); 5 addresses of another /24 are no neighbours."""
    cap = Capture()
    for host in range(100, 115):
        udp_packet(cap, "10.20.0.11", f"10.20.0.{host}", 40000 + host, 161, b"sweep", smac=WEB_MAC, dmac=DB_MAC)
    for host in range(1, 6):  # routed: to the gateway's MAC (not in the inventory), not db-01's,
        # which would make db-01 the destination VM (enrichment resolves the inner MAC first)
        udp_packet(cap, "10.20.0.11", f"10.30.0.{host}", 41000 + host, 161, b"far", smac=WEB_MAC,
                   dmac="00:50:56:00:00:fe")
    for workers in (1, 2, 4):
        got, _ = replay(env, cap, "sweep.pcap", workers)
        check([g[:3] for g in got] == [(9000, 6, "10.20.0.11")], f"--workers {workers}: alerts {got}")
        check(got[0][3].startswith("10.20.0."), f"--workers {workers}: a neighbour: {got}")


@case
def ssh_brute_force_with_workers(env):
    """run_e2e's ssh_brute_force_between_guests: 12 SSH connections from web-01 to db-01 (more
    than vm-detect.brute-force.connections 10): one sid 7 with 1, 2 and 4 workers; web-01's 12
    connections to port 80 and app-01's 3 SSH connections do not alert."""
    cap = Capture()
    for i in range(12):
        s = TcpSession(cap, "10.20.0.11", "10.20.0.12", 44000 + i, 22, WEB_MAC, DB_MAC)
        s.handshake()
        s.send(b"SSH-2.0-OpenSSH_9.2\r\n")
        s.close()
        TcpSession(cap, "10.20.0.11", "10.20.0.12", 45000 + i, 80, WEB_MAC, DB_MAC).handshake()
        if i < 3:
            TcpSession(cap, "10.20.0.13", "10.20.0.12", 46000 + i, 22, APP_MAC, DB_MAC).handshake()
    same_with_workers(env, cap, "brute.pcap", [(9000, 7, "10.20.0.11", "10.20.0.12")])


def main():
    return run_cases(CASES, "/tmp/eastwatch-sharedscan-e2e")

if __name__ == "__main__":
    sys.exit(main())
