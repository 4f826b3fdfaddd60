#!/usr/bin/python3
"""Install test of the .deb under systemd: builds the package with cpack from a Release build
dir, installs it into a minimal Debian 12 root made by mmdebstrap (apt resolves the package's
Depends from the archive, as on a fresh sensor VM; the maintainer scripts run without systemd,
as in an image build), boots that root with systemd-nspawn (systemd as PID 1, the sensor's
mirror NIC a veth moved into the container) and checks:

- the package: Depends computed (Hyperscan, libpcap...), conffiles, every bundled rule file;
- postinst: the eastwatch system user, the service's directories with owners and modes, the
  config readable by the group only, the unit enabled;
- an unconfigured sensor fails its start with "nothing to do" and is not restarted;
- configured (capture.interfaces and the demo's VM inventory in the YAML, sensor.name through
  /etc/default/eastwatch), the service is active once it has sent READY=1 with its capture open
  (Type=notify), as user eastwatch with exactly CAP_NET_RAW+CAP_NET_ADMIN, no new privileges,
  a seccomp filter and a read-only root; the demo capture of a guest-to-guest attack, written
  frame by frame into the veth, gives the demo's 18 alerts in /var/log/eastwatch/eve.json,
  each with the configured sensor name and the inventory's VM names, valid against Suricata's
  EVE schema;
- `systemctl reload` keeps it running (SIGHUP); a bad config key makes the start fail with
  FILE:LINE: key: in the journal, and the unit gives up after 3 starts (StartLimitBurst);
- `systemd-analyze security` rates the unit's exposure below 2.5 (1.8 today);
- reinstalling with dpkg -i while it runs restarts it (upgrade path) and keeps the edited
  config; dpkg --purge stops it and removes its files, conffiles, logs, spool and cache, but
  not a file the operator added (/etc/eastwatch/inventory.yaml).

Needs root, mmdebstrap, systemd-nspawn (systemd-container) and the Debian archive; exits 77
(ctest: skipped) without root or the tools. Where systemd-nspawn cannot run a container here,
the package is still installed into the mmdebstrap root and the checks that need no running
systemd are made (user, directories, `eastwatch -T` with the packaged config, `systemd-analyze
verify`), then the test exits 77 saying why.

usage: deb_install_e2e.py --build DIR --source REPO [--work DIR] [--deb FILE] [--mirror URL] [--keep]
"""
import argparse
import glob
import json
import os
import re
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SUFFIX = f"{os.getpid() % 10000}"
HOST_VETH, SENSOR_VETH = f"ewdeb{SUFFIX}h", f"ewdeb{SUFFIX}s"
SENSOR_NAME = "deb-test-sensor"
T0 = time.monotonic()


sys.path.insert(0, HERE)
from run_e2e import Failure, check, wait_for  # noqa: E402


def log(message):
    print(f"[{time.monotonic() - T0:6.1f}s] {message}", flush=True)


def run(*argv, timeout=120, check_rc=True, **kw):
    result = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout,
                            stdin=subprocess.DEVNULL, **kw)
    if check_rc and result.returncode != 0:
        raise Failure(f"{' '.join(argv)}: exit {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


# --- the package ------------------------------------------------------------------------------

def build_deb(args):
    if args.deb:
        return os.path.abspath(args.deb)
    out = os.path.join(args.work, "cpack")
    shutil.rmtree(out, ignore_errors=True)
    run("cpack", "-G", "DEB", "--config", os.path.join(args.build, "CPackConfig.cmake"), "-B", out,
        cwd=args.build, timeout=600)
    debs = glob.glob(os.path.join(out, "eastwatch_*.deb"))
    check(len(debs) == 1, f"cpack wrote {debs}")
    return debs[0]


def check_package(deb, source):
    fields = run("dpkg-deb", "-f", deb, "Package", "Version", "Section", "Priority", "Depends").stdout
    depends = re.search(r"^Depends: (.*)$", fields, re.M).group(1)
    def has(package):
        return re.search(rf"(^|, |\| ){re.escape(package)}( |,|$)", depends)
    for library in ("libpcap0.8", "libpcre2-8-0", "libyaml-cpp0.7", "libc6", "adduser", "procps"):
        check(has(library), f"Depends lacks {library}: {depends}")
    check(has("libhyperscan5") or has("libvectorscan5"), f"Depends lacks Hyperscan (or Vectorscan): {depends}")
    check("libasan" not in depends and "libubsan" not in depends, f"a sanitized build was packaged: {depends}")
    check("Section: net" in fields and "Priority: optional" in fields, f"control fields:\n{fields}")
    files = set(re.sub(r"^\./", "/", line.split()[-1]) for line in run("dpkg-deb", "-c", deb).stdout.splitlines())
    expected = {"/usr/bin/eastwatch", "/etc/eastwatch/eastwatch.yaml", "/lib/systemd/system/eastwatch.service",
                "/etc/default/eastwatch", "/etc/eastwatch/threshold.config", "/etc/eastwatch/rules/local.rules",
                "/usr/share/eastwatch/rules/classification.config", "/usr/share/eastwatch/rules/reference.config",
                "/usr/share/doc/eastwatch/copyright", "/usr/share/doc/eastwatch/changelog.Debian.gz"}
    bundled = sorted(os.path.basename(p) for p in glob.glob(os.path.join(source, "signatures", "rules", "*.rules")))
    expected |= {f"/usr/share/eastwatch/rules/{name}" for name in bundled}
    check(expected <= files, f"missing from the package: {sorted(expected - files)}")
    control = os.path.join(os.path.dirname(deb), "control")
    shutil.rmtree(control, ignore_errors=True)
    run("dpkg-deb", "-e", deb, control)
    conffiles = open(os.path.join(control, "conffiles")).read().split()
    for path in ("/etc/eastwatch/eastwatch.yaml", "/etc/default/eastwatch", "/etc/eastwatch/threshold.config",
                 "/etc/eastwatch/rules/local.rules"):
        check(path in conffiles, f"{path} is not a conffile: {conffiles}")
    log(f"package: {os.path.basename(deb)}, {len(files)} paths, {len(bundled)} bundled rule files, Depends ok")
    return bundled


def bundled_rule_count(source, bundled):
    count = 0
    for name in bundled:
        for line in open(os.path.join(source, "signatures", "rules", name)):
            if re.match(r"\s*(alert|drop|pass|reject|rejectsrc|rejectdst|rejectboth)\s", line):
                count += 1
    return count


# --- the root ---------------------------------------------------------------------------------

def make_root(args, deb, root):
    """A minimal Debian 12 with systemd and the .deb (apt installs its Depends), apt's downloads
    kept in WORK/apt-cache for the next run."""
    cache = os.path.join(args.work, "apt-cache")
    os.makedirs(cache, exist_ok=True)
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    mirror = args.mirror.rstrip("/")
    security = re.sub(r"/debian$", "/debian-security", mirror)
    argv = ["mmdebstrap", "--variant=minbase", "--include=systemd-sysv,dbus", f"--include={deb}",
            "--hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount",  # the .deb seen inside
            "--hook-dir=/usr/share/mmdebstrap/hooks/eatmydata", "--dpkgopt=force-unsafe-io",  # no fsync: 2x faster
            "--skip=essential/unlink", "--setup-hook=mkdir -p \"$1\"/var/cache/apt/archives/",
            f"--setup-hook=sync-in {cache} /var/cache/apt/archives/",
            f"--customize-hook=sync-out /var/cache/apt/archives {cache}",
            f"--customize-hook=cp {deb} \"$1\"/root/eastwatch.deb",
            "bookworm", root, f"deb {mirror} bookworm main", f"deb {mirror} bookworm-updates main"]
    if security != mirror:
        argv.append(f"deb {security} bookworm-security main")
    result = run(*argv, timeout=900, check_rc=False)
    check(result.returncode == 0, f"mmdebstrap failed (is {mirror} reachable?):\n{result.stderr[-3000:]}")
    log("root: mmdebstrap with systemd and the .deb")


def passwd_entry(root, user):
    for line in open(os.path.join(root, "etc", "passwd")):
        fields = line.rstrip("\n").split(":")
        if fields[0] == user:
            return fields
    return None


def group_id(root, group):
    for line in open(os.path.join(root, "etc", "group")):
        fields = line.split(":")
        if fields[0] == group:
            return int(fields[2])
    return None


def check_installed_files(root):
    user = passwd_entry(root, "eastwatch")
    check(user is not None, "postinst made no eastwatch user")
    uid, gid = int(user[2]), int(user[3])
    check(uid < 1000 and user[6] == "/usr/sbin/nologin", f"eastwatch is not a system user: {user}")
    check(group_id(root, "eastwatch") == gid, "the eastwatch group is not the user's group")
    for path in ("/var/log/eastwatch", "/var/spool/eastwatch", "/var/cache/eastwatch", "/var/lib/eastwatch"):
        st = os.stat(root + path)
        check((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (uid, gid, 0o750),
              f"{path}: owner {st.st_uid}:{st.st_gid} mode {oct(stat.S_IMODE(st.st_mode))}, expected eastwatch 0750")
    st = os.stat(root + "/etc/eastwatch/eastwatch.yaml")
    check((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, gid, 0o640),
          f"eastwatch.yaml: {st.st_uid}:{st.st_gid} {oct(stat.S_IMODE(st.st_mode))}, expected root:eastwatch 0640")
    wants = root + "/etc/systemd/system/multi-user.target.wants/eastwatch.service"
    check(os.path.islink(wants), "postinst did not enable eastwatch.service")
    config = open(root + "/etc/eastwatch/eastwatch.yaml").read()
    for line in ("default-rule-path: /usr/share/eastwatch/rules", "hs-cache-dir: /var/cache/eastwatch",
                 "default-log-dir: /var/log/eastwatch", "dir: /var/spool/eastwatch",
                 "threshold-file: /etc/eastwatch/threshold.config"):
        check(line in config, f"the packaged config lacks '{line}'")
    log(f"postinst: user eastwatch ({uid}:{gid}), directories 0750, config root:eastwatch 0640, unit enabled")
    return uid, gid


# --- the container ----------------------------------------------------------------------------

class Container:
    NSPAWN = ["systemd-nspawn", "--register=no", "--keep-unit", "--quiet"]

    def __init__(self, root):
        self.root = root
        self.process = None
        self.leader = None

    def can_run(self):
        result = run(*self.NSPAWN, "-D", self.root, "--pipe", "/bin/true", check_rc=False, timeout=60)
        return result.returncode == 0, (result.stderr or result.stdout).strip()

    def boot(self):
        # A network namespace of its own; the sensor's veth is moved in once the container runs
        # (--network-interface= waits for udev, which a host without systemd does not run).
        self.process = subprocess.Popen([*self.NSPAWN, "-D", self.root, "-b", "--console=pipe",
                                         "--private-network"],
                                        stdin=subprocess.DEVNULL, stdout=open(self.root + ".console", "w"),
                                        stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while self.leader is None and time.monotonic() < deadline:
            check(self.process.poll() is None, f"systemd-nspawn exited: {open(self.root + '.console').read()}")
            for task in glob.glob(f"/proc/{self.process.pid}/task/*/children"):
                for child in open(task).read().split():
                    try:
                        if open(f"/proc/{child}/comm").read().strip() == "systemd":
                            self.leader = int(child)
                    except OSError:
                        pass
            time.sleep(0.2)
        check(self.leader is not None, "no systemd in the container")
        run("ip", "link", "set", SENSOR_VETH, "netns", str(self.leader))
        state = ""
        while time.monotonic() < deadline:
            state = self.sh("systemctl is-system-running", check_rc=False).stdout.strip()
            if state in ("running", "degraded"):
                break
            time.sleep(0.5)
        check(state in ("running", "degraded"), f"the container did not finish booting: {state}")
        log(f"container booted (systemd {self.leader}, {state})")

    def sh(self, command, check_rc=True, timeout=120):
        return run("nsenter", "-t", str(self.leader), "-a", "/bin/sh", "-c", command, check_rc=check_rc,
                   timeout=timeout, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"})

    def netns(self, *argv):
        return run("nsenter", "-t", str(self.leader), "-n", *argv)

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        if self.leader is not None:
            self.sh("systemctl poweroff", check_rc=False, timeout=30)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def unit_state(container):
    out = container.sh("systemctl show eastwatch.service -p ActiveState -p Result -p NRestarts -p MainPID "
                       "-p ExecMainStatus", check_rc=False).stdout
    return dict(line.split("=", 1) for line in out.split())


def journal(container, since_cursor=None):
    return container.sh("journalctl -u eastwatch.service --no-pager -o cat", check_rc=False).stdout


def set_yaml(path, edits):
    """edits: (section, key, value): replaces the first `  key: ...` line after `section:`."""
    lines = open(path).read().split("\n")
    for section, key, value in edits:
        start = lines.index(f"{section}:")
        for i in range(start + 1, len(lines)):
            if re.match(rf"^  {re.escape(key)}:", lines[i]):
                comment = lines[i].split("#", 1)[1] if "#" in lines[i] else ""
                lines[i] = f"  {key}: {value}" + (f"  #{comment}" if comment else "")
                break
        else:
            raise Failure(f"{path}: no {section}.{key}")
    open(path, "w").write("\n".join(lines))


def pcap_frames(path):
    data = open(path, "rb").read()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    offset = 24
    while offset + 16 <= len(data):
        _, _, captured, _ = struct.unpack(endian + "IIII", data[offset:offset + 16])
        yield data[offset + 16:offset + 16 + captured]
        offset += 16 + captured


def demo_expected():
    """The README demo's alerts (run_e2e.demo_capture_with_bundled_rules reasons them out); the
    other bundled file, lateral-movement.rules, targets SMB/DCERPC/WinRM/Kerberos/RDP traffic,
    which the demo capture does not have."""
    web, db, app = "10.20.0.11", "10.20.0.12", "10.20.0.13"
    web6, app6 = "fd00:0020:0000:0000:0000:0000:0000:0011", "fd00:0020:0000:0000:0000:0000:0000:0013"
    return sorted([
        (9000021, web, db, None), (9000021, db, web, None), (9000021, web, app, None), (9000021, app, web, None),
        (9000001, web, app, 8080), (9000003, web, app, 8080), (9000004, web, app, 8080), (9000005, app, web, 41011),
        (9000011, app, web, 4444), (9000013, app, web, 4444), (9000012, app, web, 4444),
        (9000006, web, db, 80), (9000007, web, db, 80), (9000008, web, db, 6379),
        (9000019, web, db, 22), (9000019, web, db, 22), (9000019, web, db, 22), (9000023, web6, app6, 8080),
    ], key=repr)


def security_exposure(container):
    out = container.sh("systemd-analyze security --no-pager eastwatch.service", check_rc=False).stdout
    match = re.search(r"Overall exposure level for eastwatch\.service: ([0-9.]+) (\S+)", out)
    check(match, f"systemd-analyze security printed no score:\n{out[-2000:]}")
    return float(match.group(1)), match.group(2)


def booted_checks(args, root, container, uid, gid, rules_loaded):
    # Unconfigured: the enabled unit started at boot and stopped with "nothing to do", once.
    state = wait_for(lambda: (s := unit_state(container))["ActiveState"] in ("failed", "inactive") and s,
                     "the unconfigured start to fail")
    check(state["ExecMainStatus"] == "2" and state["NRestarts"] == "0",
          f"unconfigured sensor: expected one failed start with exit 2, got {state}")
    check("nothing to do" in journal(container), f"the journal does not say why:\n{journal(container)}")
    log("unconfigured: failed with exit 2 'nothing to do', not restarted")

    check_rc = container.sh("runuser -u eastwatch -- eastwatch -T -c /etc/eastwatch/eastwatch.yaml", check_rc=False)
    check(check_rc.returncode == 0 and f"{rules_loaded} loaded, 0 failed" in check_rc.stdout + check_rc.stderr,
          f"eastwatch -T with the packaged config as eastwatch (expected {rules_loaded} rules):\n"
          f"{check_rc.stdout}{check_rc.stderr}")
    verify = container.sh("systemd-analyze verify eastwatch.service", check_rc=False)
    check(verify.returncode == 0 and not verify.stderr.strip(), f"systemd-analyze verify:\n{verify.stderr}")
    exposure, verdict = security_exposure(container)
    check(exposure < 2.5, f"systemd-analyze security: exposure {exposure} {verdict}, expected < 2.5")
    log(f"eastwatch -T: {rules_loaded} rules as user eastwatch; verify clean; security exposure {exposure} {verdict}")

    # Configure as an operator: the mirror NIC in the YAML, the name through /etc/default.
    # The demo's VM inventory as /etc/eastwatch/inventory.yaml, readable by the service only.
    inventory = root + "/etc/eastwatch/inventory.yaml"
    shutil.copy(os.path.join(args.source, "tests", "e2e", "inventory", "demo-inventory.yaml"), inventory)
    os.chown(inventory, 0, gid)
    os.chmod(inventory, 0o640)
    set_yaml(root + "/etc/eastwatch/eastwatch.yaml", [("capture", "interfaces", f"[{SENSOR_VETH}]"),
                                                      ("inventory", "file", "/etc/eastwatch/inventory.yaml")])
    with open(root + "/etc/default/eastwatch", "a") as f:
        f.write(f'EASTWATCH_OPTIONS="--set sensor.name={SENSOR_NAME}"\n')
    container.netns("ip", "link", "set", SENSOR_VETH, "up")
    container.sh("systemctl reset-failed eastwatch.service; systemctl start eastwatch.service")
    state = unit_state(container)
    check(state["ActiveState"] == "active", f"eastwatch.service is not active: {state}\n{journal(container)}")
    pid = int(state["MainPID"])
    # Type=notify: `systemctl start` returned at READY=1, so the capture's AF_PACKET socket
    # exists in the container's netns already.
    check(len(open(f"/proc/{container.leader}/net/packet").read().splitlines()) > 1,
          "eastwatch.service is active (READY=1) before its capture socket is open")
    status_text = container.sh("systemctl show eastwatch.service -p StatusText --value").stdout.strip()
    check(status_text == "running", f"StatusText {status_text!r}: no sd_notify STATUS from the sensor")
    comm = container.sh(f"cat /proc/{pid}/comm").stdout.strip()
    check(comm == "eastwatch", f"main process {pid} is {comm}")
    status = container.sh(f"cat /proc/{pid}/status").stdout
    fields = dict(re.findall(r"^(\w+):\s*(.*)$", status, re.M))
    check(fields["Uid"].split()[0] == str(uid), f"runs as uid {fields['Uid']}, expected eastwatch ({uid})")
    cap_net = (1 << 12) | (1 << 13)  # CAP_NET_ADMIN, CAP_NET_RAW
    check(int(fields["CapEff"], 16) == cap_net and int(fields["CapBnd"], 16) == cap_net,
          f"capabilities: CapEff {fields['CapEff']} CapBnd {fields['CapBnd']}, expected {cap_net:016x}")
    check(fields["NoNewPrivs"] == "1" and fields["Seccomp"] == "2",
          f"NoNewPrivs {fields['NoNewPrivs']} Seccomp {fields['Seccomp']}")
    mounts = container.sh(f"cat /proc/{pid}/mountinfo").stdout.splitlines()
    root_mounts = [m for m in mounts if m.split()[4] == "/"]
    check(root_mounts and root_mounts[-1].split()[5].split(",")[0] == "ro", f"/ is not read-only: {root_mounts}")
    log(f"active (READY=1, capture open): pid {pid}, uid eastwatch, CapEff {fields['CapEff']}, NoNewPrivs, "
        "seccomp, / read-only")

    sender = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sender.bind((HOST_VETH, 0))
    frames = list(pcap_frames(os.path.join(args.source, "tests", "pcaps", "guest-to-guest-attack.pcap")))
    for frame in frames:
        sender.send(frame)
        time.sleep(0.001)
    sender.close()
    log(f"sent the demo's {len(frames)} frames into {HOST_VETH}")

    container.sh("systemctl reload eastwatch.service")
    time.sleep(0.5)
    state = unit_state(container)
    check(state["ActiveState"] == "active" and int(state["MainPID"]) == pid, f"after reload: {state}")
    container.sh("systemctl stop eastwatch.service", timeout=90)
    state = unit_state(container)
    check(state["Result"] == "success", f"stop: {state}\n{journal(container)[-3000:]}")

    eve = root + "/var/log/eastwatch/eve.json"
    records = [json.loads(line) for line in open(eve) if line.strip()]
    alerts = [r for r in records if r["event_type"] == "alert"]
    got = sorted(((a["alert"]["signature_id"], a["src_ip"], a["dest_ip"], a.get("dest_port")) for a in alerts),
                 key=repr)
    check(got == demo_expected(), f"alerts from the live veth:\n  got      {got}\n  expected {demo_expected()}")
    by_sid = {a["alert"]["signature_id"]: a for a in alerts}
    names = lambda a: (a.get("vm", {}).get("src", {}).get("name"), a.get("vm", {}).get("dest", {}).get("name"))
    check(names(by_sid[9000006]) == ("web-01", "db-01") and names(by_sid[9000005]) == ("app-01", "web-01"),
          f"the inventory's VM names: {by_sid[9000006].get('vm')}, {by_sid[9000005].get('vm')}")
    hosts = {r.get("host") for r in records}
    check(hosts == {SENSOR_NAME}, f"host of the records: {hosts}, expected {SENSOR_NAME}")
    stats = [r for r in records if r["event_type"] == "stats"]
    check(stats and stats[-1]["stats"]["capture"]["kernel_packets"] >= len(frames),
          f"final stats: {stats[-1]['stats'].get('capture') if stats else 'none'}")
    validator = os.path.join(args.source, "tests", "tools", "validate_eve.py")
    schema = os.path.join(args.source, "..", "shared", "reference", "suricata-eve-schema.json")
    if os.path.exists(schema):
        result = run("/usr/bin/python3", validator, schema, eve, check_rc=False)
        check(result.returncode == 0, f"schema validation failed:\n{result.stdout[-3000:]}")
    st = os.stat(eve)
    check(st.st_uid == uid and not stat.S_IMODE(st.st_mode) & 0o007, f"eve.json owner {st.st_uid}, mode "
          f"{oct(stat.S_IMODE(st.st_mode))}: expected eastwatch's, not world-readable (UMask=0027)")
    log(f"eve.json: the demo's {len(alerts)} alerts, host {SENSOR_NAME}, schema-valid; reload kept pid {pid}")

    # A bad key: the -T before the start says where, and the unit is not restarted.
    with open(root + "/etc/eastwatch/eastwatch.yaml", "a") as f:
        f.write("bogus-key: 1\n")
    container.sh("systemctl start eastwatch.service", check_rc=False)
    # The -T check fails each start; after StartLimitBurst (3) starts the unit stays failed.
    state = wait_for(lambda: (s := unit_state(container))["ActiveState"] == "failed" and s,
                     "the bad config's starts to give up", timeout=40)
    check(int(state["NRestarts"]) == 2, f"bad config: expected 3 starts, then none: {state}")
    check(re.search(r"/etc/eastwatch/eastwatch\.yaml:\d+: bogus-key: ", journal(container)),
          f"the journal lacks FILE:LINE: key:\n{journal(container)[-2000:]}")
    lines = open(root + "/etc/eastwatch/eastwatch.yaml").read().split("\n")
    open(root + "/etc/eastwatch/eastwatch.yaml", "w").write("\n".join(l for l in lines if l != "bogus-key: 1"))
    log("bad config: the -T check failed 3 starts with FILE:LINE: key: in the journal, then start-limit-hit")

    # Upgrade path: dpkg -i over a running sensor restarts it; purge stops it and removes its files.
    container.sh("systemctl reset-failed eastwatch.service; systemctl start eastwatch.service")
    before = int(unit_state(container)["MainPID"])
    container.sh("DEBIAN_FRONTEND=noninteractive dpkg -i /root/eastwatch.deb", timeout=120)
    state = wait_for(lambda: (s := unit_state(container))["ActiveState"] == "active" and s, "the restart")
    check(int(state["MainPID"]) not in (0, before), f"dpkg -i over a running sensor did not restart it: {state}")
    check(f"[{SENSOR_VETH}]" in open(root + "/etc/eastwatch/eastwatch.yaml").read(),
          "the upgrade replaced the edited conffile")
    container.sh("DEBIAN_FRONTEND=noninteractive dpkg --purge eastwatch", timeout=120)
    state = unit_state(container)
    check(state.get("ActiveState") in ("inactive", "failed"), f"after purge: {state}")
    for path in ("/usr/bin/eastwatch", "/etc/eastwatch/eastwatch.yaml", "/etc/default/eastwatch",
                 "/etc/eastwatch/rules", "/var/log/eastwatch", "/var/spool/eastwatch", "/var/lib/eastwatch",
                 "/var/cache/eastwatch", "/lib/systemd/system/eastwatch.service",
                 "/etc/systemd/system/multi-user.target.wants/eastwatch.service"):
        check(not os.path.lexists(root + path), f"{path} is left after purge")
    check(os.path.exists(inventory), "purge removed the operator's own /etc/eastwatch/inventory.yaml")
    log("dpkg -i over the running sensor restarted it, kept the edited config; purge removed the "
        "package's files, logs, spool and cache, kept the operator's inventory.yaml")


def unbooted_checks(root, rules_loaded, why):
    """Without a container: what a chroot can show."""
    result = run("chroot", root, "/usr/sbin/runuser", "-u", "eastwatch", "--", "/usr/bin/eastwatch", "-T", "-c",
                 "/etc/eastwatch/eastwatch.yaml", check_rc=False)
    check(result.returncode == 0 and f"{rules_loaded} loaded, 0 failed" in result.stdout + result.stderr,
          f"eastwatch -T with the packaged config: {result.stdout}{result.stderr}")
    verify = run("chroot", root, "systemd-analyze", "verify", "/lib/systemd/system/eastwatch.service", check_rc=False)
    check(verify.returncode == 0, f"systemd-analyze verify: {verify.stderr}")
    run("chroot", root, "dpkg", "--purge", "eastwatch")
    check(not os.path.exists(root + "/var/log/eastwatch"), "purge left /var/log/eastwatch")
    print(f"SKIP deb_install (boot part): systemd-nspawn cannot run a container here: {why}; "
          "checked the install, eastwatch -T, systemd-analyze verify and purge in a chroot only")
    return 77


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", required=True, help="a Release build dir (CPackConfig.cmake)")
    parser.add_argument("--source", required=True)
    parser.add_argument("--work", default="/tmp/eastwatch-deb-install")
    parser.add_argument("--deb", help="test this .deb instead of running cpack")
    parser.add_argument("--mirror", default=os.environ.get("EASTWATCH_DEBIAN_MIRROR", "http://deb.debian.org/debian"))
    parser.add_argument("--keep", action="store_true", help="keep the root for inspection")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("SKIP deb_install: needs root (mmdebstrap, systemd-nspawn, veth); run it as root")
        return 77
    for tool, package in (("mmdebstrap", "mmdebstrap"), ("systemd-nspawn", "systemd-container"), ("ip", "iproute2"),
                          ("cpack", "cmake"), ("dpkg-shlibdeps", "dpkg-dev")):
        if shutil.which(tool) is None:
            print(f"SKIP deb_install: needs {tool} (apt-get install {package}; packaging/scripts/install-deps.sh)")
            return 77
    args.work, args.build = os.path.abspath(args.work), os.path.abspath(args.build)
    os.makedirs(args.work, exist_ok=True)
    root = os.path.join(args.work, "root")
    container = None
    try:
        deb = build_deb(args)
        bundled = check_package(deb, args.source)
        rules_loaded = bundled_rule_count(args.source, bundled)
        make_root(args, deb, root)
        uid, gid = check_installed_files(root)
        container = Container(root)
        ok, why = container.can_run()
        if not ok:
            return unbooted_checks(root, rules_loaded, why)
        run("ip", "link", "add", HOST_VETH, "type", "veth", "peer", "name", SENSOR_VETH)
        run("ip", "link", "set", HOST_VETH, "up")
        container.boot()
        booted_checks(args, root, container, uid, gid, rules_loaded)
        print(f"deb_install: passed in {time.monotonic() - T0:.0f} s")
        return 0
    except (Failure, subprocess.TimeoutExpired, OSError, KeyError, ValueError) as error:
        print(f"FAIL deb_install: {error}")
        if container and container.leader:
            print(journal(container)[-4000:])
        return 1
    finally:
        if container:
            container.stop()
        subprocess.run(["ip", "link", "del", HOST_VETH], capture_output=True)
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
            for leftover in glob.glob(root + ".*"):
                os.remove(leftover)


if __name__ == "__main__":
    sys.exit(main())
