"""Reload under live traffic (issue 8 items 4-5), as root on the test hypervisor
(tests/hypervisor/hypervisor.sh): tcpreplay sends a capture onto the sensor's SPAN veth while
`eastwatch -i eth0 --workers 2` runs in the sensor namespace with a control socket. Mid-traffic
a new rule (sid 2) is added to the rule file and `eastwatch ctl reload` swaps it in; then a
syntax-broken config makes a reload fail (NOK, exit 1, FILE:LINE in the reply) and the running
rules go on; then the config is repaired and SIGHUP reloads. Asserts:
  - zero packets lost: capture.kernel_packets and decoder.pkts equal the frames sent,
    capture.kernel_drops and ring-drops are 0 (a BPF filter keeps the guests' own chatter out);
  - the old rule (sid 1) alerts on every one of its packets, before, during and after the swaps;
  - the new rule (sid 2) alerts only on packets processed after the swap (none captured before
    the reload was asked for), and on every one of its packets from its first alert on;
  - each ctl command: version, stats (the live counters), rule-stats (per-rule alerts),
    iface-stat, an unknown command (exit 1), no socket (exit 2), shutdown (a clean drain, exit 0,
    socket removed); the socket's mode is 0660; stats.log counts detect.reloads 2 and
    detect.reload_failures 1; eve.json validates against Suricata's schema.
Needs root, iproute2 and tcpreplay; exits 77 (ctest: skipped) otherwise.

usage: reload_e2e.py --eastwatch BIN --source REPO [--work DIR]
"""
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "pcaps"))
import run_e2e  # noqa: E402
from run_e2e import check  # noqa: E402
from pcapgen import Capture, TcpSession, udp_packet  # noqa: E402

PREFIX = f"ewrl{os.getpid() % 10000}"
ROUNDS = 1500          # each: one UDP packet for sid 1, one for sid 2, and a TCP exchange every 10th
PPS = 1000
OLD_RULE = 'alert udp any any -> any 5001 (msg:"RELOAD old rule"; content:"OLDRULE"; sid:1; rev:1;)\n'
NEW_RULE = 'alert udp any any -> any 5002 (msg:"RELOAD new rule"; content:"NEWRULE"; sid:2; rev:1;)\n'
CONFIG = """control:
  socket: {socket}
default-rule-path: {dir}
rule-files: [reload.rules]
capture:
  bpf-filter: "net 10.99.0.0/16"
outputs:
  eve:
    alert:
      payload-printable: yes
"""


def netns(name, *argv):
    return ["ip", "netns", "exec", f"{PREFIX}-{name}", *argv]


def write_capture(path):
    """The traffic: per round a UDP datagram to 5001 (sid 1) and one to 5002 (sid 2), each with
    its round number in the payload, and every 10th round an HTTP exchange on its own TCP flow."""
    cap = Capture(step_usec=1000)
    for n in range(ROUNDS):
        udp_packet(cap, "10.99.0.1", "10.99.0.2", 40000 + n % 1000, 5001, b"OLDRULE %06d" % n)
        udp_packet(cap, "10.99.0.1", "10.99.0.2", 40000 + n % 1000, 5002, b"NEWRULE %06d" % n)
        if n % 10 == 0:
            session = TcpSession(cap, "10.99.0.3", "10.99.0.4", 20000 + n, 80)
            session.handshake()
            session.send(b"GET /r%06d HTTP/1.1\r\nHost: app\r\n\r\n" % n)
            session.send(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", to_server=False)
            session.close()
    cap.write(path)


def count_frames(path):
    from scapy.all import rdpcap  # Debian's python3-scapy (/usr/bin/python3)
    return len(rdpcap(path))


def ctl(binary, socket_path, command, expect_rc=0):
    result = subprocess.run([binary, "ctl", "--socket", socket_path, command], capture_output=True, text=True,
                            timeout=120)
    check(result.returncode == expect_rc,
          f"ctl {command}: exit {result.returncode}, expected {expect_rc}\n{result.stdout}{result.stderr}")
    return result


def processed(binary, socket_path):
    return json.loads(ctl(binary, socket_path, "stats").stdout)["decoder"]["pkts"]


def main():
    args = run_e2e.argument_parser("/tmp/eastwatch-reload").parse_args()
    if os.geteuid() != 0:
        print("SKIP reload_e2e: needs root (network namespaces, veth, tc mirred, tcpreplay); run it as root")
        return 77
    for tool in ("ip", "tc", "tcpreplay"):
        if shutil.which(tool) is None:
            print(f"SKIP reload_e2e: needs {tool} (packaging/scripts/install-deps.sh installs it)")
            return 77
    probe = subprocess.run(["ip", "netns", "add", f"{PREFIX}-probe"], capture_output=True, text=True)
    if probe.returncode != 0:
        print(f"SKIP reload_e2e: cannot create network namespaces: {probe.stderr.strip()}")
        return 77
    subprocess.run(["ip", "netns", "del", f"{PREFIX}-probe"], capture_output=True)

    env = run_e2e.Env(args, "reload")
    binary = args.eastwatch
    script = os.path.join(args.source, "tests", "hypervisor", "hypervisor.sh")
    pcap = env.path("traffic.pcap")
    write_capture(pcap)
    sent = count_frames(pcap)
    rules = env.write("reload.rules", OLD_RULE)
    socket_path = env.path("ctl.sock")
    good_config = CONFIG.format(socket=socket_path, dir=env.dir)
    config = env.write("eastwatch.yaml", good_config)
    out = env.path("out")
    os.makedirs(out)
    sensor = None
    replay = None
    try:
        subprocess.run(["bash", script, "up", PREFIX], check=True, capture_output=True, text=True, timeout=60)
        sensor = subprocess.Popen(netns("sensor", binary, "-i", "eth0", "--workers", "2", "-c", config, "-l", out),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 30
        while not os.path.exists(socket_path) and time.time() < deadline and sensor.poll() is None:
            time.sleep(0.1)
        check(os.path.exists(socket_path), "the control socket appears")
        check(stat.S_IMODE(os.stat(socket_path).st_mode) == 0o660, "the control socket has mode 0660")
        version = ctl(binary, socket_path, "version").stdout.strip()
        check(version.startswith("eastwatch "), f"ctl version: {version}")
        ctl(binary, socket_path, "format-disk", expect_rc=1)
        ctl(binary, env.path("nobody.sock"), "version", expect_rc=2)

        replay = subprocess.Popen(netns("host", "tcpreplay", "-i", "span0", f"--pps={PPS}", pcap),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)
        # Mid-traffic: the new rule, then a reload over the control socket.
        with open(rules, "a") as f:
            f.write(NEW_RULE)
        before_reload = processed(binary, socket_path)
        reply = json.loads(ctl(binary, socket_path, "reload").stdout)
        check(reply["reloaded"] and reply["rules_loaded"] == 2 and reply["rule_set"] == 2, f"reload reply: {reply}")
        check(before_reload > 0, "traffic was flowing before the reload")
        time.sleep(0.7)
        # A syntax-broken config: refused, the running rules stay.
        env.write("eastwatch.yaml", good_config + "capture: [\n")
        failed = ctl(binary, socket_path, "reload", expect_rc=1).stderr
        failed_reply = json.loads(failed)
        check(not failed_reply["reloaded"] and any(e.startswith(config + ":") for e in failed_reply["errors"]),
              f"failed reload reply names FILE:LINE: {failed}")
        check(failed_reply["rule_set"] == 2, "the running rule set stays after a failed reload")
        time.sleep(0.5)
        env.write("eastwatch.yaml", good_config)
        os.kill(sensor.pid, signal.SIGHUP)  # a good reload by signal (rule set 3)
        time.sleep(0.5)
        rule_stats = json.loads(ctl(binary, socket_path, "rule-stats").stdout)
        by_sid = {r["sid"]: r for r in rule_stats["rules"]}
        check(set(by_sid) == {1, 2} and by_sid[1]["alerts"] > 0, f"rule-stats: {rule_stats}")
        stats = json.loads(ctl(binary, socket_path, "stats").stdout)
        check(stats["decoder"]["pkts"] > before_reload and stats["detect"]["reloads"] >= 1, f"stats: {stats}")
        ifaces = json.loads(ctl(binary, socket_path, "iface-stat").stdout)["ifaces"]
        check(len(ifaces) == 1 and ifaces[0]["iface"] == "eth0" and ifaces[0]["pkts"] > 0, f"iface-stat: {ifaces}")
        replay_out, replay_err = replay.communicate(timeout=120)
        check(replay.returncode == 0, f"tcpreplay failed: {replay_err}")
        # Every frame processed, then a clean drain through the control socket.
        deadline = time.time() + 20
        while processed(binary, socket_path) < sent and time.time() < deadline:
            time.sleep(0.2)
        ctl(binary, socket_path, "shutdown")
        sensor_out, sensor_err = sensor.communicate(timeout=60)
        check(sensor.returncode == 0, f"eastwatch exit {sensor.returncode}\n{sensor_err}")
        check(not os.path.exists(socket_path), "the control socket is removed at exit")
    finally:
        for process in (replay, sensor):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
        subprocess.run(["bash", script, "down", PREFIX], capture_output=True)

    eve = os.path.join(out, "eve.json")
    env.validate(eve)
    records = [json.loads(line) for line in open(eve)]
    final = [r for r in records if r["event_type"] == "stats"][-1]["stats"]
    check(final["capture"]["kernel_packets"] == sent,
          f"every frame sent was captured: {final['capture']['kernel_packets']} of {sent}")
    check(final["capture"]["kernel_drops"] == 0, f"no kernel drops: {final['capture']}")
    check(final["decoder"]["pkts"] == sent, f"every frame decoded: {final['decoder']['pkts']} of {sent}")
    stats_log = open(os.path.join(out, "stats.log")).read()

    def stats_log_value(name):
        values = [int(line.split("|")[-1]) for line in stats_log.splitlines() if line.split("|")[0].strip() == name]
        check(values, f"stats.log has {name}")
        return values[-1]

    check(stats_log_value("capture.ring-drops") == 0, "no frame dropped between capture and workers")
    check(stats_log_value("detect.reloads") == 2, "two reloads swapped a rule set in (ctl, SIGHUP)")
    check(stats_log_value("detect.reload_failures") == 1, "one reload was refused (the broken config)")

    alerts = [r for r in records if r["event_type"] == "alert"]
    rounds = {1: [], 2: []}
    for alert in alerts:
        sid = alert["alert"]["signature_id"]
        check(sid in rounds, f"only the test's rules alert: {alert['alert']}")
        rounds[sid].append((int(alert["payload_printable"].split()[1]), alert["pcap_cnt"]))
    old = sorted(n for n, _ in rounds[1])
    check(old == list(range(ROUNDS)), f"the old rule alerted on every one of its {ROUNDS} packets "
                                      f"({len(old)} alerts, {len(set(old))} distinct)")
    new = sorted(rounds[2])
    check(new, "the new rule alerted after the swap")
    first_round = new[0][0]
    check([n for n, _ in new] == list(range(first_round, ROUNDS)),
          "the new rule alerted on every one of its packets from its first alert on, once each")
    first_frame = min(cnt for _, cnt in new)
    check(first_frame > before_reload,
          f"the new rule never alerted on a frame processed before the reload was asked for "
          f"(first alert at frame {first_frame}, {before_reload} frames processed before)")
    check(0 < first_round < ROUNDS - 100, f"the swap happened mid-traffic (round {first_round} of {ROUNDS})")
    print(f"reload_e2e: {sent} frames sent, all captured and decoded, 0 dropped; sid 1: {len(old)} alerts; "
          f"sid 2 from round {first_round} (frame {first_frame}; {before_reload} processed before the reload)")
    return 0


if __name__ == "__main__":
    run_e2e.run_script(main, "reload_e2e")
