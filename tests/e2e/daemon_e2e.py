#!/usr/bin/python3
"""End-to-end tests of the daemon around the pipeline: EVE rotation by size and by interval,
reopen on SIGHUP after `mv eve.json`, the pid file, systemd notifications (READY=1, WATCHDOG=1,
STOPPING=1 on a NOTIFY_SOCKET this test listens on), and, as root, the privilege drop of a live
capture on a veth (the uid, gid and capability sets read from /proc/PID/status).

Traffic is one alerting UDP packet per record (`content:"tick"`). A run that must last is a
replay of stdin (`-r -`) fed by this script in bursts of 32 packets (the reader's burst), so it
decides when records arrive without root or timing assumptions beyond "a pause longer than
rotate-interval".

usage: daemon_e2e.py --eastwatch BIN --source REPO [--work DIR] [-k SUBSTRING]
"""
import glob
import json
import os
import pwd
import grp
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "pcaps"))
from run_e2e import Failure, check, run_cases, wait_for  # noqa: E402
from pcapgen import Capture, udp_packet  # noqa: E402

CASES = []
RULES = 'alert udp any any -> any 5555 (msg:"tick"; content:"tick"; sid:1; rev:1;)\n'
BURST = 32
ROTATED = re.compile(r"^eve\.json\.\d{4}-\d\d-\d\d-\d{6}(\.\d+)?$")


def case(function):
    CASES.append(function)
    return function


def packets(env, count):
    """The pcap file header and `count` records, each a UDP packet that alerts once."""
    cap = Capture()
    for i in range(count):
        udp_packet(cap, "10.0.0.1", "10.0.0.2", 40000 + i % 512, 5555, b"tick %06d" % i)
    path = env.path("ticks.pcap")
    cap.write(path)
    data = open(path, "rb").read()
    header, records, at = data[:24], [], 24
    while at < len(data):
        length = struct.unpack_from("<I", data, at + 8)[0]
        records.append(data[at:at + 16 + length])
        at += 16 + length
    return path, header, records


def eve_files(out):
    """eve.json's rotated files, oldest first, then eve.json itself."""
    names = [n for n in os.listdir(out) if ROTATED.match(n)]

    def key(name):
        parts = name[len("eve.json."):].split(".")
        return (parts[0], int(parts[1]) if len(parts) > 1 else 0)
    return [os.path.join(out, n) for n in sorted(names, key=key)] + [os.path.join(out, "eve.json")]


def records_of(path):
    """Every line of an EVE file as JSON: a split or truncated record fails here."""
    records = []
    if not os.path.exists(path):
        return records
    with open(path) as f:
        for number, line in enumerate(f, 1):
            check(line.endswith("\n"), f"{path}:{number}: the last record has no newline (split record)")
            try:
                records.append(json.loads(line))
            except ValueError as error:
                raise Failure(f"{path}:{number}: not JSON ({error}): {line[:80]!r}")
    return records


def alert_counts(paths):
    return [sum(1 for r in records_of(p) if r["event_type"] == "alert") for p in paths]


class Streamed:
    """eastwatch reading a capture from stdin that the test writes burst by burst."""

    def __init__(self, env, header, *extra, env_vars=None, out="out"):
        self.out = env.path(out)
        os.makedirs(self.out, exist_ok=True)
        rules = env.write("ticks.rules", RULES)
        environment = dict(os.environ, **(env_vars or {}))
        self.process = subprocess.Popen([env.binary, "-r", "-", "-S", rules, "-l", self.out, "-q", *extra],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        cwd=env.dir, env=environment)
        self.process.stdin.write(header)
        self.process.stdin.flush()

    def send(self, records):
        check(len(records) % BURST == 0, "whole bursts only")
        self.process.stdin.write(b"".join(records))
        self.process.stdin.flush()

    def finish(self, expect_rc=0):
        self.process.stdin.close()
        self.process.stdin = None  # communicate() must not flush it
        try:
            stdout, stderr = self.process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise Failure("eastwatch did not end after its input did")
        check(self.process.returncode == expect_rc,
              f"exit code {self.process.returncode}, expected {expect_rc}; stderr: {stderr.decode()}")
        return stderr.decode()


def pcap_cnts(paths):
    return [r["pcap_cnt"] for p in paths for r in records_of(p) if r["event_type"] == "alert"]


# ---------------------------------------------------------------------------------------------

@case
def rotation_by_size(env):
    """rotate-size: every alert exactly once across the files, in order, each file within the
    bound and every line whole JSON; rotate-count then keeps only the newest files."""
    path, _, _ = packets(env, 1500)
    rules = env.write("ticks.rules", RULES)
    out = env.path("out")
    os.makedirs(out)
    env.run("-r", path, "-S", rules, "-l", out, "-q", "--set", "outputs.eve.rotate-size=64kb")
    files = eve_files(out)
    # An alert record is ~600 bytes: 1,500 of them need at least 1500*600/65536 > 13 files.
    check(len(files) >= 14, f"{len(files)} files for ~900 kB at 64 kB each")
    for f in files:
        check(os.path.getsize(f) <= 64 * 1024, f"{f}: {os.path.getsize(f)} bytes > rotate-size")
        env.validate(f)
    check(pcap_cnts(files) == list(range(1, 1501)), "every alert exactly once, in order, across the files")
    check(records_of(files[-1])[-1]["event_type"] == "stats", "the final stats record is in the active eve.json")
    stats_log = open(os.path.join(out, "stats.log")).read()
    check(re.search(rf"output\.eve\.rotations\s+\|\s+Total\s+\|\s+{len(files) - 1}\n", stats_log),
          f"stats.log counts {len(files) - 1} rotations")

    # rotate-count: 3 kept. The earlier run's files count too: afterwards exactly 3 rotated files.
    env.run("-r", path, "-S", rules, "-l", out, "-q", "--set", "outputs.eve.rotate-size=64kb",
            "--set", "outputs.eve.rotate-count=3")
    files = eve_files(out)
    check(len(files) == 4, f"rotate-count 3: {[os.path.basename(f) for f in files]}")
    # eve.json is appended to across runs (as Suricata's): the files kept hold the newest alerts
    # of run 1 followed by run 2, in order, without a gap, ending with the second run's last.
    cnts = pcap_cnts(files)
    both_runs = list(range(1, 1501)) * 2
    # Three full rotated files of 64 kB hold more than 300 records of ~600 bytes.
    check(len(cnts) > 300 and cnts == both_runs[-len(cnts):], "the files kept are the newest, without a gap")


@case
def rotation_by_interval(env):
    """rotate-interval 1s: a pause longer than the interval always separates two bursts into two
    files (rotated when due, at the next record or while idle), and none is lost or split."""
    _, header, records = packets(env, 4 * BURST)
    run = Streamed(env, header, "--set", "outputs.eve.rotate-interval=1s")
    for burst in range(4):
        run.send(records[burst * BURST:(burst + 1) * BURST])
        wait_for(lambda: sum(alert_counts(eve_files(run.out))) == (burst + 1) * BURST, f"burst {burst}'s alerts")
        time.sleep(1.6)  # past the due time: the file rotates even without a new record
    run.finish()
    files = eve_files(run.out)
    cnts_per_file = [[r["pcap_cnt"] for r in records_of(f) if r["event_type"] == "alert"] for f in files]
    bursts_per_file = [sorted({(c - 1) // BURST for c in cnts}) for cnts in cnts_per_file]
    check(all(len(b) <= 1 for b in bursts_per_file), f"a file with two bursts: {bursts_per_file}")
    check(sum(1 for b in bursts_per_file if b) == 4, f"four files with alerts: {bursts_per_file}")
    check(sorted(c for cnts in cnts_per_file for c in cnts) == list(range(1, 4 * BURST + 1)), "each alert once")
    check(all(os.path.getsize(f) > 0 for f in files[:-1]), "no empty file is rotated")


@case
def sighup_reopens_after_mv(env):
    """logrotate's way: mv eve.json eve.json.1 and fast.log fast.log.1, SIGHUP, and the next
    records go to new files of the old names; nothing lost or written twice. The pid file holds
    the pid while it runs, a second instance refuses it, and it is gone at exit."""
    _, header, records = packets(env, 2 * BURST)
    pid_file = env.path("eastwatch.pid")
    run = Streamed(env, header, "--pidfile", pid_file)
    run.send(records[:BURST])
    eve, fast = os.path.join(run.out, "eve.json"), os.path.join(run.out, "fast.log")
    wait_for(lambda: alert_counts([eve]) == [BURST], "the first burst's alerts")
    check(open(pid_file).read() == f"{run.process.pid}\n", "the pid file holds eastwatch's pid")
    second = env.run("-r", env.path("ticks.pcap"), "-S", env.path("ticks.rules"), "-l", run.out, "-q",
                     "--pidfile", pid_file, expect_rc=2)
    check(f"eastwatch: another eastwatch is running as pid {run.process.pid} (pid file '{pid_file}')"
          in second.stderr, f"second instance: {second.stderr}")
    wait_for(lambda: len(open(fast).readlines()) == BURST, "fast.log's lines")
    os.rename(eve, eve + ".1")
    os.rename(fast, fast + ".1")
    run.process.send_signal(signal.SIGHUP)
    wait_for(lambda: os.path.exists(eve) and os.path.exists(fast), "eve.json and fast.log opened again")
    run.send(records[BURST:])
    run.finish()
    before = pcap_cnts([eve + ".1"])
    after = pcap_cnts([eve])
    check(before == list(range(1, BURST + 1)), f"eve.json.1 holds the first burst: {before}")
    check(after == list(range(BURST + 1, 2 * BURST + 1)), f"the new eve.json holds the second: {after}")
    check(len(open(fast + ".1").readlines()) == BURST and len(open(fast).readlines()) == BURST, "fast.log split")
    env.validate(eve)
    env.validate(eve + ".1")
    check(re.search(r"output\.eve\.reopens\s+\|\s+Total\s+\|\s+1\n", open(os.path.join(run.out, "stats.log")).read()),
          "stats.log counts the reopen")
    check(not os.path.exists(pid_file), "the pid file is removed at exit")

    # A stale pid file (its process is gone) is replaced.
    dead = subprocess.Popen(["true"])
    dead.wait()
    with open(pid_file, "w") as f:
        f.write(f"{dead.pid}\n")
    env.run("-r", env.path("ticks.pcap"), "-S", env.path("ticks.rules"), "-l", run.out, "-q", "--pidfile", pid_file)
    check(not os.path.exists(pid_file), "the stale pid file was taken over and removed at exit")
    # A live process that is not an eastwatch (a reused pid: this test's own) is stale too.
    with open(pid_file, "w") as f:
        f.write(f"{os.getpid()}\n")
    env.run("-r", env.path("ticks.pcap"), "-S", env.path("ticks.rules"), "-l", run.out, "-q", "--pidfile", pid_file)
    check(not os.path.exists(pid_file), "a pid file naming a live non-eastwatch process was taken over")


@case
def packaged_logrotate_config(env):
    """packaging/logrotate/eastwatch run by logrotate itself (-f), its paths pointed at this
    test's log directory and its postrotate at this eastwatch: the first burst ends in
    eve.json.1 (left uncompressed by delaycompress), the second in the new eve.json."""
    logrotate = shutil.which("logrotate") or "/usr/sbin/logrotate"
    if not os.path.exists(logrotate):
        raise Failure("logrotate is not installed (packaging/scripts/install-deps.sh installs it)")
    _, header, records = packets(env, 2 * BURST)
    run = Streamed(env, header)
    run.send(records[:BURST])
    eve = os.path.join(run.out, "eve.json")
    wait_for(lambda: alert_counts([eve]) == [BURST], "the first burst's alerts")
    config = open(os.path.join(env.source, "packaging", "logrotate", "eastwatch")).read()
    config = config.replace("/var/log/eastwatch", run.out).replace("create 0640 eastwatch eastwatch", "create 0640")
    config = re.sub(r"postrotate\n.*?endscript", f"postrotate\n        kill -HUP {run.process.pid}\n    endscript",
                    config, flags=re.S)
    check(f"kill -HUP {run.process.pid}" in config, "postrotate replaced")
    conf = env.write("logrotate.conf", config)
    os.chmod(conf, 0o644)
    result = subprocess.run([logrotate, "-f", "-s", env.path("logrotate.state"), conf], capture_output=True, text=True)
    check(result.returncode == 0, f"logrotate: {result.stderr}")
    wait_for(lambda: os.path.exists(eve), "eve.json opened again after the SIGHUP")
    run.send(records[BURST:])
    run.finish()
    check(pcap_cnts([eve + ".1"]) == list(range(1, BURST + 1)), "eve.json.1: the first burst")
    check(pcap_cnts([eve]) == list(range(BURST + 1, 2 * BURST + 1)), "eve.json: the second burst")
    check(len(open(os.path.join(run.out, "fast.log.1")).readlines()) == BURST, "fast.log.1: the first burst")


@case
def sd_notify_ready_watchdog_stopping(env):
    """Type=notify: READY=1 once the capture and the rules are up (before any packet is read),
    WATCHDOG=1 while it runs with WATCHDOG_USEC set, STOPPING=1 when the input ends."""
    _, header, records = packets(env, BURST)
    path = env.path("notify.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(path)
    listener.settimeout(30)
    try:
        run = Streamed(env, header, env_vars={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "200000"})
        first = listener.recv(4096).decode()
        check("READY=1" in first.split("\n"), f"the first notification is READY=1: {first!r}")
        messages = []
        deadline = time.time() + 1.0  # five watchdog periods
        while time.time() < deadline:
            listener.settimeout(max(0.01, deadline - time.time()))
            try:
                messages.append(listener.recv(4096).decode())
            except socket.timeout:
                break
        check("WATCHDOG=1" in messages, f"WATCHDOG=1 every 100 ms: {messages}")
        check(all(m == "WATCHDOG=1" for m in messages), f"only pings while running: {messages}")
        run.send(records)
        run.finish()
        listener.settimeout(5)
        rest = []
        while True:
            try:
                rest.append(listener.recv(4096).decode())
            except socket.timeout:
                break
            if rest[-1] == "STOPPING=1":
                break
        check(rest and rest[-1] == "STOPPING=1", f"STOPPING=1 at the end: {rest}")
        check(alert_counts([os.path.join(run.out, "eve.json")]) == [BURST], "the alerts")
    finally:
        listener.close()


@case
def bad_daemon_arguments(env):
    """Start-up errors of the daemon options: exit 2, one clear line, nothing captured."""
    path, _, _ = packets(env, BURST)
    rules = env.write("ticks.rules", RULES)
    out = env.path("out")
    os.makedirs(out)
    result = env.run("-r", path, "-S", rules, "-l", out, "--user", "no-such-user-ew", expect_rc=2)
    check("eastwatch: run-as.user: no user 'no-such-user-ew' (expected a user name or uid)\n" in result.stderr,
          result.stderr)
    result = env.run("-r", path, "-S", rules, "-l", out, "--group", "nogroup", expect_rc=2)
    check("eastwatch: --group nogroup needs --user (or run-as.user) as well\n" in result.stderr, result.stderr)
    if os.geteuid() == 0:
        result = env.run("-r", path, "-S", rules, "-l", out, "--set", "run-as.allow-root=no", expect_rc=2)
        check("eastwatch: refusing to run as root without run-as.user (run-as.allow-root: no)\n" in result.stderr,
              result.stderr)
    result = env.run("-r", path, "-S", rules, "-l", out, "--set", "logging.file=/nonexistent/ew.log", expect_rc=2)
    check("eastwatch: logging.file: cannot open '/nonexistent/ew.log' for writing: No such file or directory\n"
          in result.stderr, result.stderr)
    check(not os.path.exists(os.path.join(out, "eve.json")), "nothing written")


def ip(*arguments):
    subprocess.run(["ip", *arguments], check=True, capture_output=True)


def proc_status(pid, task=None):
    path = f"/proc/{pid}/status" if task is None else f"/proc/{pid}/task/{task}/status"
    fields = {}
    for line in open(path):
        key, _, value = line.partition(":")
        fields[key] = value.split()
    return fields


@case
def privilege_drop_live_capture(env):
    """As root: -i on a veth with --user nobody: the process ends with nobody's uid and nogroup's
    gid everywhere, CapEff/CapPrm/CapBnd exactly CAP_NET_RAW (bit 13), no inheritable or ambient
    capability, threads started before the switch with none at all; it still captures (alerts
    for frames sent afterwards), hands eve.json to nobody, logs to logging.file, and SIGTERM ends it."""
    if os.geteuid() != 0:
        print("  SKIP privilege_drop_live_capture: needs root (veth, user switch)")
        return
    nobody, nogroup = pwd.getpwnam("nobody").pw_uid, grp.getgrnam("nogroup").gr_gid
    tag = str(os.getpid() % 100000)
    capture_if, peer_if = "ewdc" + tag, "ewdp" + tag
    out = env.path("out")
    os.makedirs(out)
    os.chmod(env.dir, 0o755)
    os.chown(out, nobody, nogroup)  # the log directory belongs to the user (the .deb makes it so)
    rules = env.write("ticks.rules", RULES)
    log_file = os.path.join(out, "eastwatch.log")
    notify_path = env.path("notify.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(notify_path)
    os.chmod(notify_path, 0o777)  # READY=1 comes after the switch, from nobody
    listener.settimeout(60)
    process = None
    ip("link", "add", capture_if, "type", "veth", "peer", "name", peer_if)
    try:
        for name in (capture_if, peer_if):
            subprocess.run(["sysctl", "-qw", f"net.ipv6.conf.{name}.disable_ipv6=1"], capture_output=True)
            ip("link", "set", name, "up")
        process = subprocess.Popen([env.binary, "-i", capture_if, "-S", rules, "-l", out, "--user", "nobody",
                                    "--group", "nogroup", "--set", f"logging.file={log_file}"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   env=dict(os.environ, NOTIFY_SOCKET=notify_path))
        check("READY=1" in listener.recv(4096).decode().split("\n"), "READY=1")
        status = proc_status(process.pid)
        check(status["Uid"] == [str(nobody)] * 4, f"Uid {status['Uid']}")
        check(status["Gid"] == [str(nogroup)] * 4, f"Gid {status['Gid']}")
        check(status["Groups"] in ([str(nogroup)], []), f"Groups {status['Groups']}")
        net_raw = f"{1 << 13:016x}"
        for key in ("CapEff", "CapPrm", "CapBnd"):
            check(status[key] == [net_raw], f"{key} {status[key]}, expected only CAP_NET_RAW ({net_raw})")
        check(status["CapInh"] == ["0" * 16] and status["CapAmb"] == ["0" * 16], "no inheritable/ambient caps")
        check(status["NoNewPrivs"] == ["1"], "no_new_privs")
        for task in os.listdir(f"/proc/{process.pid}/task"):
            thread = proc_status(process.pid, task)
            check(thread["Uid"] == [str(nobody)] * 4, f"thread {task} Uid {thread['Uid']}")
            check(thread["CapEff"] in ([net_raw], ["0" * 16]) and thread["CapPrm"] in ([net_raw], ["0" * 16]),
                  f"thread {task} CapEff {thread['CapEff']} CapPrm {thread['CapPrm']}")
        check(os.stat(os.path.join(out, "eve.json")).st_uid == nobody, "eve.json handed to nobody")

        # Still capturing: frames sent now alert.
        sender = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        sender.bind((peer_if, 0))
        _, _, records = packets(env, 8)
        for record in records:
            sender.send(record[16:])
        sender.close()
        eve = os.path.join(out, "eve.json")
        wait_for(lambda: alert_counts([eve]) == [8], "8 alerts from the live capture after the switch")
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
        check(process.returncode == 0, f"exit code {process.returncode}: {stderr.decode()}")
        log = open(log_file).read()
        check(re.search(r"\[info\] running as user nobody \(uid \d+\), group nogroup \(gid \d+\); "
                        r"capabilities kept: CAP_NET_RAW\n", log), f"logging.file: {log}")
        env.validate(eve)
    finally:
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
        listener.close()
        subprocess.run(["ip", "link", "del", capture_if], capture_output=True)


def main():
    return run_cases(CASES, "/tmp/eastwatch-e2e-daemon")


if __name__ == "__main__":
    sys.exit(main())
