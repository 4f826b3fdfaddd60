"""Drop counters of a live capture are exact (issue 6, "drop counters are accurate"), on the test
hypervisor (tests/hypervisor/hypervisor.sh): eastwatch captures the sensor's mirror port (eth0)
with the smallest kernel ring (capture.buffer-size 1mb) and a BPF filter that passes only the
test's frames; it is stopped (SIGSTOP) while the hypervisor side (span0) sends FRAMES UDP frames
that each match one rule, far more than the ring holds, so the kernel must drop most of them; then
it continues (SIGCONT), reads what the ring kept and ends on SIGTERM. With 1 and 2 workers, asserts
from the final stats record and stats.log:
  - capture.kernel_packets == FRAMES (every frame the kernel saw, kept or dropped),
  - capture.kernel_drops > 0 (the ring overflowed) and capture.ring-drops == 0,
  - decoder.pkts == kernel_packets - kernel_drops (what was not counted as dropped was inspected),
  - one alert per inspected frame, each for a distinct frame: alerts == decoder.pkts.

--dpdk: the same through DPDK's AF_PACKET PMD (`--vdev net_af_packet0,iface=eth0`, its default
512-frame ring, no BPF filter: IPv6 is switched off in every namespace of the lab first, so the
test's frames are the only ones on the mirror) and the same assertions, kernel_packets ==
FRAMES included: DPDK 22.11's PMD reports none of its ring's drops, eastwatch adds them from
the sockets' PACKET_STATISTICS (sensor/capture/dpdk_source.hpp). ring-drops is asserted 0 where
stats.log has it (2 workers: one RX thread feeds them; 1 worker reads its queue itself).

Needs root; exits 77 (ctest: skipped) otherwise, or with --dpdk when the binary was built without
DPDK.

usage: test_capture_drops.py [--dpdk] --eastwatch BIN --source REPO [--work DIR]
"""
import glob
import os
import shutil
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hvlib  # noqa: E402

DPDK = "--dpdk" in sys.argv
if DPDK:
    sys.argv.remove("--dpdk")
PREFIX = f"ew{'dd' if DPDK else 'dr'}{os.getpid() % 10000}"
FILE_PREFIX = f"ewdd{os.getpid() % 10000}"  # the EAL's runtime directory (--dpdk)
FRAMES = 40000
PORT = 5001
RULE = f'alert udp any any -> any {PORT} (msg:"DROPTEST frame"; content:"DROPTEST-"; sid:1; rev:1;)\n'

# Sends FRAMES Ethernet/IPv4/UDP frames out of span0 (AF_PACKET), source ports spread over 1000
# flows, each payload numbered; prints how many were sent.
SENDER = r"""
import socket, struct, sys
frames, port = int(sys.argv[1]), int(sys.argv[2])
def checksum(header):
    total = sum(struct.unpack("!10H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("span0", 0))
src, dst = socket.inet_aton("10.77.0.1"), socket.inet_aton("10.77.0.2")
ether = bytes.fromhex("020000770002" "020000770001" "0800")
sent = 0
for i in range(frames):
    payload = b"DROPTEST-%06d" % i
    udp = struct.pack("!HHHH", 10000 + i % 1000, port, 8 + len(payload), 0) + payload
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i & 0xFFFF, 0, 64, 17, 0, src, dst)
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    while True:
        try:
            s.send(ether + header + udp)
            break
        except BlockingIOError:  # the veth's queue is full for a moment
            pass
    sent += 1
print(sent, flush=True)
"""


def stats_log(out):
    values = {}
    for line in open(os.path.join(out, "stats.log")):
        parts = [part.strip() for part in line.split("|")]
        if len(parts) == 3 and parts[2].isdigit():
            values[parts[0]] = int(parts[2])  # the last block (the final one) wins
    return values


def quiet_lab(prefix):
    """No IPv6 in the lab's namespaces (router solicitations, MLD reports): without a BPF filter
    (DPDK) the mirror then carries only the test's frames."""
    for name in ("host", "vm1", "vm2", "vm3", "sensor"):
        hvlib.sh(*hvlib.netns(prefix, name, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                              "net.ipv6.conf.default.disable_ipv6=1"))
    time.sleep(1.0)  # whatever was under way has passed the mirror


def start(lab, workers, rules):
    common = ["--workers", str(workers), "-S", rules, "-l", lab.out, "--set", "stats.enabled=no"]
    if not DPDK:
        return lab.start_sensor([lab.args.eastwatch, "-i", "eth0", *common, "--set", "capture.buffer-size=1mb",
                                 "--set", f"capture.bpf-filter=udp dst port {PORT}"])
    try:
        return lab.start_sensor([
            lab.args.eastwatch, "--dpdk", *common,
            "--set", f'capture.dpdk.eal-args=[--no-huge, --no-pci, -m, "512", --file-prefix, {FILE_PREFIX}, '
            '--log-level, "*:error", --vdev, "net_af_packet0,iface=eth0"]',
            "--set", "capture.dpdk.ports=[net_af_packet0]"], ready="SIGINT/SIGTERM to stop")
    except AssertionError as error:
        if "built without DPDK" in str(error):
            raise hvlib.Skip(f"test_capture_drops --dpdk: {error}")
        raise


def run(lab, workers):
    shutil.rmtree(lab.out, ignore_errors=True)
    os.makedirs(lab.out)
    rules = os.path.join(lab.args.work, "drops.rules")
    with open(rules, "w") as f:
        f.write(RULE)
    sensor = start(lab, workers, rules)
    sensor.process.send_signal(signal.SIGSTOP)  # nothing reads the ring now
    try:
        result = hvlib.sh(*hvlib.netns(PREFIX, "host", "/usr/bin/python3", "-c", SENDER, str(FRAMES), str(PORT)))
        assert int(result.stdout.strip()) == FRAMES, f"sent {result.stdout!r}"
        time.sleep(0.5)
    finally:
        sensor.process.send_signal(signal.SIGCONT)
    time.sleep(2.0)  # the ring's blocks are read (100 ms block timeout) and inspected
    sensor.stop()
    records = hvlib.read_eve(lab.out)
    stats = hvlib.last_stats(records)
    capture = stats["capture"]
    decoded = stats["decoder"]["pkts"]
    alerts = hvlib.alerts_of(records)
    log = stats_log(lab.out)
    ring_drops = log.get("capture.ring-drops")
    if DPDK:
        capture = {**capture, "af_packet_drops": log.get("capture.dpdk.af_packet_drops")}
        if workers == 1 and ring_drops is None:
            ring_drops = 0  # run to completion: no ring between the port and the worker
    summary = f"{workers} worker(s): {capture}, decoder.pkts {decoded}, alerts {len(alerts)}, ring-drops {ring_drops}"
    assert capture["kernel_packets"] == FRAMES, f"every frame sent counted by the kernel: {summary}"
    assert 0 < capture["kernel_drops"] < FRAMES, f"the 1 MB ring overflowed while eastwatch was stopped: {summary}"
    assert ring_drops == 0, f"no frame lost between capture and workers: {summary}"
    assert decoded == capture["kernel_packets"] - capture["kernel_drops"], f"inspected = kept by the kernel: {summary}"
    frames = {a["pcap_cnt"] for a in alerts}
    assert len(alerts) == decoded and len(frames) == len(alerts), f"one alert per inspected frame: {summary}"
    print(f"  {summary}")
    return capture["kernel_drops"]


def test(lab):
    try:
        if DPDK:
            quiet_lab(PREFIX)
        for workers in (1, 2):
            run(lab, workers)
        if DPDK:
            assert not glob.glob(f"/var/run/dpdk/{FILE_PREFIX}"), "EAL runtime files left behind"
    finally:
        shutil.rmtree(f"/var/run/dpdk/{FILE_PREFIX}", ignore_errors=True)
    print(f"PASS test_capture_drops{' --dpdk (net_af_packet)' if DPDK else ''}: {FRAMES} frames sent while "
          "eastwatch was stopped; kernel_packets, kernel_drops, decoder.pkts and alerts agree with 1 and 2 workers")


if __name__ == "__main__":
    sys.exit(hvlib.run_test("test_capture_drops", PREFIX,
                            "/tmp/eastwatch-capture-drops" + ("-dpdk" if DPDK else ""), test))
