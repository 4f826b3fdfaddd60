"""Rule updates with suricata-update (issue 10 item 4): Debian's suricata-update, unchanged, feeds
Eastwatch's rules directory. ET Open is served from a tarball made here from
../shared/rules/et-open (rules/*.rules inside emerging.rules.tar.gz, the layout of the ET Open
download) through --url file://; enable.conf, disable.conf and modify.conf filter it; the merged
suricata.rules goes to -o DIR, the directory Eastwatch's config names; the test step suricata-update
runs is `eastwatch -T` (--suricata EASTWATCH --suricata-version 6.0 --test-command ...), and the
reload step `eastwatch ctl reload` to a live run. Asserts:
  - the sids disabled (a whole group by group:, rules by re:) are absent from suricata.rules and
    from what Eastwatch loads; the rule enabled by sid is there; the count -T reports is the
    count of enabled rules this script derives from the source files and the same filters;
  - the modified rule (sid 2017965: its content |00 02 2a| made |00 07 2a|) alerts on a packet
    with the new content and not on one with the old;
  - (root: a live run on lo with a control socket) a second update changes a rule and its
    reload-command reloads the running sensor (rules_loaded in the reply as expected);
  - a broken modify (depth:1 under a 3-byte content) makes the test step fail: suricata-update
    exits 1, suricata.rules is byte for byte the previous one and no reload is run.
Needs /usr/bin/suricata-update (Debian package suricata-update); exits 77 (skipped) without it.

usage: suricata_update_e2e.py --eastwatch BIN --source REPO [--work DIR]
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "pcaps"))
import run_e2e  # noqa: E402
from run_e2e import check  # noqa: E402
from pcapgen import Capture, udp_packet  # noqa: E402

SURICATA_UPDATE = "/usr/bin/suricata-update"
# A few ET Open files that Eastwatch loads without a failed rule (so -T exits 0).
FILES = ["emerging-dos.rules", "emerging-shellcode.rules", "emerging-worm.rules", "emerging-web_server.rules",
         "emerging-attack_response.rules"]
MODIFIED_SID = 2017965  # ET DOS Likely NTP DDoS In Progress MON_LIST Response to Non-Ephemeral Port IMPL 0x02
DISABLE_RE = r"ET WEB_SERVER .*SQL"  # disable.conf's re: filter (a Python regex over the rule text, any case)


def rule_sid(line):
    return int(re.search(r"\bsid\s*:\s*(\d+)", line).group(1))


def source_rules(et_dir):
    """{sid: (file, enabled, text)} for every rule line of FILES, enabled = not commented out."""
    rules = {}
    for name in FILES:
        for line in open(os.path.join(et_dir, name), encoding="utf-8"):
            line = line.strip()
            match = re.match(r"^(#\s*)?(alert|drop|pass|reject)\s", line)
            if match:
                rules[rule_sid(line)] = (name, match.group(1) is None, line.lstrip("# "))
    return rules


def enabled_sids(path):
    return {rule_sid(line) for line in open(path, encoding="utf-8") if re.match(r"^(alert|drop|pass|reject)\s", line)}


def suricata_update(env, args, out_dir, *extra):
    command = [SURICATA_UPDATE, "-c", env.path("update.yaml"), "--data-dir", env.path("data"),
               "--url", "file://" + env.path("emerging.rules.tar.gz"), "-o", out_dir,
               "--enable-conf", env.path("enable.conf"), "--disable-conf", env.path("disable.conf"),
               "--modify-conf", env.path("modify.conf"), "--drop-conf", env.path("drop.conf"),
               "--threshold-in", env.path("none"), "--no-ignore",
               "--suricata", args.eastwatch, "--suricata-version", "6.0.0",
               "--test-command", f'"$SURICATA_PATH" -T -c {env.path("eastwatch.yaml")} > {env.path("test.out")} 2>&1',
               *extra]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def flowbits(text, actions):
    names = set()
    for action, value in re.findall(r"flowbits\s*:\s*(\w+)\s*,\s*([^;]+);", text):
        if action in actions:
            names.update(name.strip() for name in re.split(r"[|&]", value))
    return names


def resolve_flowbits(source, sids):
    """suricata-update's flowbit resolution: a rule that sets (set/unset/toggle) a flowbit an
    enabled rule checks (isset/isnotset) is enabled too, disabled or not, until nothing changes."""
    sids = set(sids)
    while True:
        checked = set().union(*(flowbits(source[sid][2], ("isset", "isnotset")) for sid in sids))
        more = {sid for sid, (name, enabled, text) in source.items()
                if sid not in sids and flowbits(text, ("set", "unset", "toggle")) & checked}
        if not more:
            return sids
        sids |= more


def shipped_vars(config):
    """The vars: block (HOME_NET, HTTP_PORTS, ...) of the shipped config, which ET Open's rules use."""
    lines, inside = [], False
    for line in open(config):
        if re.match(r"^\S", line):
            inside = line.startswith("vars:")
        if inside:
            lines.append(line)
    return "".join(lines)


def write_capture(path):
    cap = Capture()
    # First byte 0xc7: the rule's byte_tests (128, 64, 4, 2, 1 set); then the (modified) content.
    udp_packet(cap, "192.0.2.1", "10.1.0.5", 123, 500, b"\xc7\x00\x07\x2a" + b"\x00" * 40)  # 1: new content
    udp_packet(cap, "192.0.2.2", "10.1.0.6", 123, 501, b"\xc7\x00\x02\x2a" + b"\x00" * 40)  # 2: old content
    cap.write(path)


def main():
    args = run_e2e.argument_parser("/tmp/eastwatch-suricata-update").parse_args()
    args.eastwatch = os.path.abspath(args.eastwatch)
    if not os.access(SURICATA_UPDATE, os.X_OK):
        print("SKIP: suricata-update is not installed (apt-get install suricata-update)")
        return 77
    env = run_e2e.Env(args, "suricata-update")
    et_dir = os.path.join(args.source, "..", "shared", "rules", "et-open")

    # The ET Open download: rules/<file> inside emerging.rules.tar.gz.
    with tarfile.open(env.path("emerging.rules.tar.gz"), "w:gz") as tar:
        for name in FILES + ["classification.config"]:
            tar.add(os.path.join(et_dir, name), arcname="rules/" + name)
    source = source_rules(et_dir)
    # A rule ET ships commented out, to enable by sid; without flowbits (suricata-update would
    # also enable the rules that set them) and one that Eastwatch loads.
    commented = sorted(sid for sid, (name, enabled, text) in source.items()
                       if not enabled and name == "emerging-dos.rules" and "flowbits" not in text
                       and "content:" in text)
    enable_sid = commented[0]
    env.write("update.yaml", "# no defaults from /etc/suricata\n")
    env.write("none", "")
    env.write("drop.conf", "")
    env.write("enable.conf", f"1:{enable_sid}\n")
    env.write("disable.conf", f"group:emerging-worm.rules\nre:{DISABLE_RE}\n")
    env.write("modify.conf", f'{MODIFIED_SID} "\\|00 02 2a\\|" "|00 07 2a|"\n')
    rules_dir = env.path("rules")
    out = env.path("out")
    os.makedirs(out)
    env.write("eastwatch.yaml", f"default-rule-path: {rules_dir}\nrule-files: [suricata.rules]\n"
                                f"control:\n  socket: {env.path('eastwatch.sock')}\n"
                                + shipped_vars(os.path.join(args.source, "config", "eastwatch.yaml")))

    result = suricata_update(env, args, rules_dir)
    check(result.returncode == 0, f"suricata-update failed ({result.returncode}):\n{result.stderr}")
    merged = os.path.join(rules_dir, "suricata.rules")
    got = enabled_sids(merged)

    # What the filters should leave, derived from the sources here.
    disabled = {sid for sid, (name, enabled, text) in source.items()
                if name == "emerging-worm.rules" or re.search(DISABLE_RE, text, re.I)}
    expected = resolve_flowbits(source, {sid for sid, (name, enabled, text) in source.items() if enabled}
                                - disabled | {enable_sid})
    check(len(disabled & {s for s, v in source.items() if v[1]}) >= 10, f"the filters disable too little: {disabled}")
    check(not (got & disabled), f"disabled sids present: {sorted(got & disabled)[:10]}")
    check(got == expected, f"enabled sids: {len(got)} got, {len(expected)} expected; "
                           f"missing {sorted(expected - got)[:10]}, extra {sorted(got - expected)[:10]}")
    modified = [line for line in open(merged) if re.search(rf"\bsid:{MODIFIED_SID};", line)]
    check(len(modified) == 1 and 'content:"|00 07 2a|"' in modified[0] and "|00 02 2a|" not in modified[0],
          f"modified rule: {modified}")
    test_out = open(env.path("test.out")).read()
    check(test_out.strip().splitlines()[-1] == f"{len(expected)} loaded, 0 failed",
          f"eastwatch -T (suricata-update's test step):\n{test_out}")

    # The modified rule alerts with its new content only.
    write_capture(env.path("ntp.pcap"))
    env.run("-r", env.path("ntp.pcap"), "-c", env.path("eastwatch.yaml"), "-l", out, "-q")
    records = [json.loads(line) for line in open(os.path.join(out, "eve.json"))]
    env.validate(os.path.join(out, "eve.json"))
    hits = [(r["pcap_cnt"], r["alert"]["signature_id"]) for r in records if r["event_type"] == "alert"
            and r["alert"]["signature_id"] == MODIFIED_SID]
    check(hits == [(1, MODIFIED_SID)], f"modified rule's alerts (pcap_cnt, sid): {hits}, expected [(1, {MODIFIED_SID})]")

    # A live run (root): the next update's reload-command reloads it.
    live = None
    reloads = 0
    if os.geteuid() == 0:
        live = subprocess.Popen([args.eastwatch, "-i", "lo", "-c", env.path("eastwatch.yaml"), "-l", env.path("live"),
                                 "--set", "capture.bpf-filter=udp port 9"],
                                stdout=subprocess.DEVNULL, stderr=open(env.path("live.err"), "w"))
        os.makedirs(env.path("live"), exist_ok=True)
        deadline = time.time() + 60
        while not os.path.exists(env.path("eastwatch.sock")) and time.time() < deadline and live.poll() is None:
            time.sleep(0.1)
        check(os.path.exists(env.path("eastwatch.sock")), "the live run made no control socket:\n"
              + open(env.path("live.err")).read())
    else:
        print("note: not root, no live run: the reload step is not exercised")
    reload_command = (f"{args.eastwatch} ctl --socket {env.path('eastwatch.sock')} reload > {env.path('reload.json')}"
                      if live else "true")
    try:
        # Second update: one more group disabled; the sensor reloads the result.
        env.write("disable.conf", f"group:emerging-worm.rules\ngroup:emerging-shellcode.rules\nre:{DISABLE_RE}\n")
        result = suricata_update(env, args, rules_dir, "--reload-command", reload_command)
        check(result.returncode == 0, f"second suricata-update failed:\n{result.stderr}")
        second = resolve_flowbits(source, {sid for sid, (name, enabled, text) in source.items()
                                           if enabled and sid not in disabled and name != "emerging-shellcode.rules"}
                                  | {enable_sid})
        check(len(expected) - len(second) >= 10, f"the second update disables too little: {len(second)}")
        check(enabled_sids(merged) == second, "second update: shellcode rules still enabled")
        if live:
            reply = json.loads(open(env.path("reload.json")).read())
            check(reply["reloaded"] and reply["rules_loaded"] == len(second) and reply["rules_failed"] == 0,
                  f"reload reply: {reply}, expected {len(second)} rules loaded")
            reloads += 1

        # A broken modify: -T fails, the previous rules stay, no reload.
        before = open(merged, "rb").read()
        env.write("modify.conf", f'{MODIFIED_SID} "\\|00 02 2a\\|" "|00 07 2a|"\n{MODIFIED_SID} "depth:3" "depth:1"\n')
        if live:
            os.unlink(env.path("reload.json"))
        result = suricata_update(env, args, rules_dir, "--reload-command", reload_command)
        check(result.returncode == 1, f"a broken modify: suricata-update exit {result.returncode}, expected 1")
        check("Suricata test failed" in result.stderr, f"no test failure reported:\n{result.stderr[-2000:]}")
        test_out = open(env.path("test.out")).read()
        check(re.search(rf"depth: 1 is smaller than the content length 3", test_out)
              and test_out.strip().splitlines()[-1] == f"{len(second) - 1} loaded, 1 failed", test_out)
        check(open(merged, "rb").read() == before, "the previous suricata.rules was not restored")
        check(not os.path.exists(env.path("reload.json")), "a reload ran after a failed test")
    finally:
        if live:
            live.terminate()
            live.wait(timeout=60)
    print(f"OK: {len(expected)} rules after the first update, {len(second)} after the second, "
          f"{reloads} live reload(s); the broken update kept the old rules")
    return 0


if __name__ == "__main__":
    run_e2e.run_script(main, "suricata_update_e2e")
