#!/usr/bin/python3
"""End-to-end tests of the bundled lateral-movement rule pack (signatures/rules/lateral-movement.rules).

Each golden capture of tests/pcaps/make_lateral_pcaps.py is replayed with the embedded default
configuration (its rule-files: eastwatch.rules and lateral-movement.rules, from the source tree),
and the alerts must be exactly the expected (pcap_cnt, sid) pairs, reasoned per rule below from
the bytes the generator writes; every benign counterpart gives none. Every eve.json is checked
against Suricata's EVE schema. Also: `-T` loads the pack (alone and with the default config) with
0 failures, every rule carries the pack's conventions, and the demo capture gives the same alerts
with the pack loaded as without it.

usage: lateral_e2e.py --eastwatch BIN --source REPO [--work DIR] [--sanitized] [-k SUBSTRING]
"""
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "pcaps"))
import make_lateral_pcaps as lateral  # noqa: E402
import run_e2e  # noqa: E402
from run_e2e import check  # noqa: E402

PACK = os.path.join("signatures", "rules", "lateral-movement.rules")
CASES = []


def case(function):
    CASES.append(function)
    return function


def replay_default(env, name, cap):
    """Replays `cap` with the embedded default config, rules from the source tree; returns the alerts."""
    pcap = env.path(name + ".pcap")
    cap.write(pcap)
    out = env.path("out-" + name)
    os.makedirs(out, exist_ok=True)
    env.run("-r", pcap, "-l", out, "-q", "--workers", str(env.args.workers),
            "--set", "default-rule-path=" + os.path.join(env.source, "signatures", "rules"))
    eve = os.path.join(out, "eve.json")
    env.validate(eve)
    return [r for r in map(json.loads, open(eve)) if r["event_type"] == "alert"]


def expect(env, scenario, expected_of_marks):
    cap, marks = lateral.SCENARIOS[scenario]()
    alerts = replay_default(env, scenario, cap)
    got = sorted((a["pcap_cnt"], a["alert"]["signature_id"]) for a in alerts)
    expected = sorted(expected_of_marks(marks))
    if env.args.workers > 1:
        got = sorted(sid for _, sid in got)
        expected = sorted(sid for _, sid in expected)
    check(got == expected, f"{scenario}: alerts (pcap_cnt, sid):\n  got      {got}\n  expected {expected}")
    return alerts


# --- the pack loads, with its conventions ----------------------------------------------------------

@case
def pack_loads_and_follows_conventions(env):
    rules_path = os.path.join(env.source, PACK)
    lines = [line for line in open(rules_path) if line.startswith("alert ")]
    result = env.run("-T", "-S", rules_path)
    check(result.stdout.strip().splitlines()[-1] == f"{len(lines)} loaded, 0 failed", f"-T: {result.stdout}")
    # The default config's rule-files (both packs) from the source tree: 0 failed.
    result = env.run("-T", "--set", "default-rule-path=" + os.path.join(env.source, "signatures", "rules"))
    bundled = [line for line in open(os.path.join(env.source, "signatures", "rules", "eastwatch.rules"))
               if line.startswith("alert ")]
    check(result.stdout.strip().splitlines()[-1] == f"{len(lines) + len(bundled)} loaded, 0 failed",
          f"-T with the default rule-files: {result.stdout}")
    sids = set()
    for line in lines:
        sid = int(re.search(r"\bsid:(\d+);", line).group(1))
        check(9100001 <= sid <= 9100999 and sid not in sids, f"sid {sid}: outside 9100001-9100999 or repeated")
        sids.add(sid)
        check(re.search(r'msg:"EASTWATCH LATERAL ', line), f"sid {sid}: msg must start with EASTWATCH LATERAL")
        check(re.search(r"\bclasstype:[a-z-]+;", line) and re.search(r"\brev:\d+;", line), f"sid {sid}: classtype, rev")
        check(re.search(r"\breference:(cve|msb|url|mitre),", line), f"sid {sid}: no reference")
        metadata = re.search(r"\bmetadata:([^;]*);", line)
        check(metadata, f"sid {sid}: no metadata")
        for key in ("attack_target", "created_at", "signature_severity", "mitre_tactic_id", "mitre_technique_id"):
            check(re.search(rf"(^|, ){key} \S+", metadata.group(1)), f"sid {sid}: metadata lacks {key}")
        if sid not in (9100060, 9100061):  # answers to multicast/broadcast queries: see the rules file
            check(re.search(r"\bflow:", line), f"sid {sid}: rule without flow:")


# --- SMBv1 / MS17-010 ----------------------------------------------------------------------------

@case
def eternalblue(env):
    # 9100005: the negotiate offers SMB1 dialects up to NT LM 0.12 and no "SMB 2.": once (limit).
    # 9100001: the NT Trans request announces 0x10fe8 data bytes (> 0xffff); it sets the flowbit.
    # 9100002: the first Trans2 Secondary with the flowbit set alerts and unsets it: not the
    #          second or third. 9100003: Trans2 with 15 words and subcommand 0x000e.
    # 9100004: the reply (0x98 flags) with STATUS_NOT_IMPLEMENTED and multiplex id 0x51.
    alerts = expect(env, "eternalblue", lambda m: [(m["negotiate"], 9100005), (m["nt_trans"], 9100001),
                                                   (m["secondary"][0], 9100002), (m["ping"], 9100003),
                                                   (m["ping_reply"], 9100004)])
    by_sid = {a["alert"]["signature_id"]: a for a in alerts}
    check(by_sid[9100004]["direction"] == "to_client" and by_sid[9100004]["src_port"] == 445, "implant reply direction")
    meta = by_sid[9100001]["alert"]["metadata"]
    check(meta.get("mitre_technique_id") == ["T1210"] and meta.get("signature_severity") == ["Critical"], f"{meta}")
    check(by_sid[9100001]["alert"]["category"] == "Attempted Administrator Privilege Gain", "classtype category")


@case
def smb1_multiprotocol_negotiate(env):
    # A negotiate in SMB1 framing that offers "SMB 2.002": 9100005's negated content holds no more.
    expect(env, "smb1_multiprotocol_negotiate", lambda m: [])


# --- PsExec over SMB2 -----------------------------------------------------------------------------

@case
def psexec(env):
    # 9100020 (noalert) marks the ADMIN$ tree; 9100021: CREATE of PSEXESVC.exe with write access
    # there. 9100022 (noalert) marks the svcctl bind; 9100023: opnum 12 (RCreateServiceW); not
    # opnum 15 (OpenSCManagerW); 9100024: opnum 19 after it. 9100025: the CREATE of the PSEXESVC
    # pipe (".exe" does not follow), once per flow: not the -stdin pipe. eastwatch.rules' 9000016
    # (UTF-16 "PSEXESVC" anywhere to port 445) fires on every frame that carries the name: the
    # .exe CREATE, the CreateServiceW stub (service name and path) and both pipe CREATEs.
    expect(env, "psexec", lambda m: [(m["create_exe"], 9100021), (m["create_exe"], 9000016),
                                     (m["create_service"], 9100023), (m["create_service"], 9000016),
                                     (m["start_service"], 9100024), (m["create_pipe"], 9100025),
                                     (m["create_pipe"], 9000016), (m["create_stdin"], 9000016)])


@case
def smb2_file_copy(env):
    # An .exe written to \\fs-01\data (no ADMIN$ flowbit), an .xlsx, and `sc query` (svcctl bound,
    # opnums 15 and 14 only): nothing.
    expect(env, "smb2_file_copy", lambda m: [])


# --- WMI and WinRM --------------------------------------------------------------------------------

@case
def wmiexec(env):
    # 9100040: request opnum 4 on 135 carrying CLSID WbemLevel1Login (not the bind before it).
    # 9100041: opnum 24 (ExecMethod) with BSTRs Win32_Process and Create (the NTLMLogin, opnum 6, no).
    expect(env, "wmiexec", lambda m: [(m["activation"], 9100040), (m["exec_method"], 9100041)])


@case
def wmi_monitoring(env):
    # ExecQuery (opnum 20) naming Win32_Process: 9100041 needs opnum 24.
    expect(env, "wmi_monitoring", lambda m: [])


@case
def winrm_shell(env):
    # 9100042: the POST /wsman whose body holds the shell Command action; the Create before it no.
    alerts = expect(env, "winrm_shell", lambda m: [(m["command"], 9100042)])
    check(alerts[0].get("http", {}).get("url") == "/wsman", f"http object: {alerts[0].get('http')}")


@case
def winrm_encrypted(env):
    # 9100043: multipart/encrypted ... -session-encrypted; two POSTs, limit 1 per pair: the first.
    expect(env, "winrm_encrypted", lambda m: [(m["posts"][0], 9100043)])


@case
def winrm_identify(env):
    expect(env, "winrm_identify", lambda m: [])


# --- LLMNR and NBT-NS -----------------------------------------------------------------------------

@case
def llmnr_poisoning(env):
    # 9100060: answers from port 5355 with QR set, one question, one answer; limit 1 per source.
    expect(env, "llmnr_poisoning", lambda m: [(m["answer"], 9100060)])


@case
def nbtns_poisoning(env):
    # 9100061: a positive name query response (0x8500, no question, one NB answer) from port 137.
    expect(env, "nbtns_poisoning", lambda m: [(m["answer"], 9100061)])


@case
def name_queries_unanswered(env):
    expect(env, "name_queries_unanswered", lambda m: [])


# --- Kerberoasting --------------------------------------------------------------------------------

@case
def kerberoast_tcp(env):
    # 9100080: the first RC4-only TGS-REQ (limit 1 per source); its etype list is in the second
    # segment, matched on the reassembled stream. 9100082: the fifth (type both, count 5).
    expect(env, "kerberoast_tcp", lambda m: [(m["requests"][0], 9100080), (m["requests"][4], 9100082)])


@case
def kerberoast_udp(env):
    expect(env, "kerberoast_udp", lambda m: [(m["requests"][0], 9100081), (m["requests"][4], 9100083)])


@case
def kerberos_aes(env):
    # etype lists [18, 17, 23, 24, -135] and [18, 17]: never RC4 alone.
    expect(env, "kerberos_aes_tcp", lambda m: [])
    expect(env, "kerberos_aes_udp", lambda m: [])


# --- brute force ----------------------------------------------------------------------------------

@case
def ssh_brute_force(env):
    # 12 SYNs from web-01 to db-01:22 within 12 s: type both, count 10 → the 10th SYN, once.
    expect(env, "ssh_brute_force", lambda m: [(m["syns"][9], 9100100)])


@case
def rdp_brute_force(env):
    expect(env, "rdp_brute_force", lambda m: [(m["syns"][9], 9100101)])


@case
def admin_sessions(env):
    # 3 + 3 sessions, and 12 SSH connections 10 s apart: at most 6 in a 60 s window.
    expect(env, "admin_sessions", lambda m: [])


# --- DNS tunnelling -------------------------------------------------------------------------------

@case
def dns_tunnel(env):
    # 9100120: 63-character hex labels (with digits): the first query (limit). 9100121: names of
    # 144 bytes, the 30th query. 32 TXT queries stay under 9100123's 40; answers are not queries.
    alerts = expect(env, "dns_tunnel", lambda m: [(m["queries"][0], 9100120), (m["queries"][29], 9100121)])
    check(all(a["dest_port"] == 53 for a in alerts), "alerts are on the queries")


@case
def iodine_tunnel(env):
    # 9100122: qtype NULL (10); 9100120: a 57-character base32 label with digits. Both on the first.
    expect(env, "iodine_tunnel", lambda m: [(m["queries"][0], 9100122), (m["queries"][0], 9100120)])


@case
def dns_txt_burst(env):
    # 45 TXT queries a second apart: the 40th is within 60 s of the first (type both, count 40).
    expect(env, "dns_txt_burst", lambda m: [(m["queries"][39], 9100123)])


@case
def dns_normal(env):
    # A long label without digits, a 40-character hex label, 8 TXT queries: nothing.
    expect(env, "dns_normal", lambda m: [])


@case
def demo_capture_unchanged(env):
    """The demo's capture: the pack adds no alert to eastwatch.rules' ones."""
    pcap = os.path.join(env.source, "tests", "pcaps", "guest-to-guest-attack.pcap")
    out_with = env.path("demo-default")
    out_without = env.path("demo-bundled")
    os.makedirs(out_with)
    os.makedirs(out_without)
    env.run("-r", pcap, "-l", out_with, "-q", "--set", "default-rule-path=" + os.path.join(env.source, "signatures", "rules"))
    env.run("-r", pcap, "-l", out_without, "-q", "-S", os.path.join(env.source, "signatures", "rules", "eastwatch.rules"))

    def sids(out):
        return [(r["pcap_cnt"], r["alert"]["signature_id"]) for r in map(json.loads, open(os.path.join(out, "eve.json")))
                if r["event_type"] == "alert"]
    check(sids(out_with) == sids(out_without) and len(sids(out_with)) == 18, f"{sids(out_with)} vs {sids(out_without)}")
    env.validate(os.path.join(out_with, "eve.json"))


def main():
    # --workers N: every replay with N workers (alerts compared by sid: which packet of a threshold
    # window alerts depends on how the workers interleave).
    return run_e2e.run_cases(CASES, "/tmp/eastwatch-lateral-e2e",
                             lambda parser: parser.add_argument("--workers", type=int, default=1))


if __name__ == "__main__":
    sys.exit(main())
