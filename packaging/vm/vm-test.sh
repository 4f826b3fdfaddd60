#!/usr/bin/env bash
# Boot test of the sensor VM image (packaging/vm/README.md, "Boot test"; `make -C packaging/vm
# vm-test`). Boots an overlay of the qcow2 under qemu (KVM when /dev/kvm works, else TCG) with:
#   - a NoCloud seed ISO (cloud-localds): an SSH key, the `eastwatch:` settings (sensor name,
#     the mirror NIC, a Redis output at the host, the inventory, a rule source URL),
#   - NIC 1, management: user networking (the host is 10.0.2.2; SSH forwarded to a local port),
#   - NIC 2, mirror: a UDP socket netdev; the host sends tests/pcaps/guest-to-guest-attack.pcap's
#     frames into it, one datagram per frame, until the alerts arrive,
# then checks, at a redis-server on the host: the attack's alerts (sids 9000001 Log4Shell,
# 9000008 Redis CONFIG SET, and the rule fetched from the URL, 9990001), each with the
# configured sensor name in `host` and the inventory's VM names; over SSH: password logins are
# refused and key logins work; on the console: eastwatch-firstboot configured the sensor; on
# the mirror NIC's socket: the guest sent no frame out of it.
# usage: vm-test.sh [QCOW2]   (default build-vm/eastwatch-sensor.qcow2); exit 0 pass, 1 fail,
# 77 skip (no qemu). VM_TEST_TIMEOUT (default 900 s) bounds the boot + alerts wait.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
image="$(realpath "${1:-$repo/build-vm/eastwatch-sensor.qcow2}")"
timeout_s="${VM_TEST_TIMEOUT:-900}"
for tool in qemu-system-x86_64 qemu-img cloud-localds redis-server redis-cli ssh ssh-keygen; do
  if ! command -v "$tool" >/dev/null; then
    echo "vm-test: SKIP: $tool missing (apt-get install qemu-system-x86 qemu-utils cloud-image-utils redis-server openssh-client)"
    exit 77
  fi
done
[ -f "$image" ] || { echo "vm-test: no image $image (packaging/vm/build.sh first)"; exit 1; }

tmp="$(mktemp -d /tmp/eastwatch-vmtest.XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "${KEEP:-0}" = 1 ]; then echo "vm-test: kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
free_udp() { python3 -c 'import socket; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
redis_port="$(free_port)"; http_port="$(free_port)"; ssh_port="$(free_port)"
mirror_in="$(free_udp)"; mirror_out="$(free_udp)"
name="vmtest-sensor-$$"

redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
  --protected-mode no > "$tmp/redis.log" 2>&1 &
pids+=($!)
# The rule source: an HTTP server on the host serving extra.rules.
mkdir -p "$tmp/www"
cat > "$tmp/www/extra.rules" <<'EOF'
alert http any any -> any any (msg:"VMTEST rule from the URL source: Log4Shell in the User-Agent"; flow:established,to_server; http.user_agent; content:"jndi"; nocase; sid:9990001; rev:1;)
EOF
python3 -m http.server "$http_port" --bind 127.0.0.1 --directory "$tmp/www" > "$tmp/http.log" 2>&1 &
pids+=($!)

ssh-keygen -q -t ed25519 -N '' -f "$tmp/key"
inventory="$(sed 's/^/      /' "$repo/tests/e2e/inventory/demo-inventory.yaml")"
cat > "$tmp/user-data" <<EOF
#cloud-config
ssh_authorized_keys:
  - $(cat "$tmp/key.pub")
write_files:
  - path: /etc/eastwatch/inventory.yaml
    permissions: "0644"
    content: |
$inventory
eastwatch:
  name: $name
  management: {interface: auto}
  mirror: {interface: auto, mtu: 9000}
  capture: {mode: pcap}
  inventory: /etc/eastwatch/inventory.yaml
  outputs:
    redis: {server: "10.0.2.2:$redis_port", key: eastwatch-vmtest}
  rules: ["http://10.0.2.2:$http_port/extra.rules"]
EOF
printf 'instance-id: vmtest-%s\nlocal-hostname: %s\n' "$$" "$name" > "$tmp/meta-data"
cloud-localds "$tmp/seed.iso" "$tmp/user-data" "$tmp/meta-data"
qemu-img create -q -f qcow2 -F qcow2 -b "$image" "$tmp/disk.qcow2"

# VM_TEST_ACCEL=kvm|tcg; by default KVM where /dev/kvm is usable and the CPU shows vmx/svm (a
# /dev/kvm without them, as in nested setups, fails on SYSLINUX's real-mode code), else TCG.
accel=(-accel tcg -cpu max)
case "${VM_TEST_ACCEL:-auto}" in
  kvm) accel=(-accel kvm -cpu host) ;;
  tcg) ;;
  *) if [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then accel=(-accel kvm -cpu host); fi ;;
esac
# What the guest transmits on its mirror NIC arrives at 127.0.0.1:$mirror_out: it must send
# nothing (no address, no ARP, no IPv6, nftables output drop), so every frame there is logged.
python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", int(sys.argv[1])))
with open(sys.argv[2], "w", buffering=1) as log:
    while True:
        log.write(s.recv(65535)[:64].hex() + "\n")
' "$mirror_out" "$tmp/mirror-tx.log" &
pids+=($!)
echo "vm-test: qemu ${accel[*]}, redis 127.0.0.1:$redis_port, ssh 127.0.0.1:$ssh_port, mirror udp 127.0.0.1:$mirror_in"
start=$(date +%s)
qemu-system-x86_64 "${accel[@]}" -machine q35 -m 2048 -smp 2 -display none -no-reboot \
  -serial "file:$tmp/console.log" \
  -drive "file=$tmp/disk.qcow2,if=virtio,format=qcow2" \
  -drive "file=$tmp/seed.iso,if=virtio,format=raw,readonly=on" \
  -netdev "user,id=mgmt,hostfwd=tcp:127.0.0.1:$ssh_port-:22" -device virtio-net-pci,netdev=mgmt,addr=0x3 \
  -netdev "socket,id=mirror,udp=127.0.0.1:$mirror_out,localaddr=127.0.0.1:$mirror_in" \
  -device virtio-net-pci,netdev=mirror,addr=0x4 > "$tmp/qemu.log" 2>&1 &
qemu_pid=$!
pids+=($qemu_pid)

set +e
python3 - "$repo/tests/pcaps/guest-to-guest-attack.pcap" "$mirror_in" "$redis_port" "$name" \
  "$timeout_s" "$qemu_pid" <<'PY'
import json, os, socket, struct, subprocess, sys, time
pcap, port, rport, name, timeout, qpid = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
data = open(pcap, "rb").read()
magic = struct.unpack("<I", data[:4])[0]
end = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
frames, off = [], 24
while off + 16 <= len(data):
    _, _, incl, _ = struct.unpack(end + "IIII", data[off:off + 16])
    frames.append(data[off + 16:off + 16 + incl]); off += 16 + incl
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
deadline, rounds, seen, first_record = time.time() + timeout, 0, {}, None
t0 = time.time()
while time.time() < deadline:
    try:
        os.kill(qpid, 0)
    except OSError:
        print("vm-test: qemu exited"); sys.exit(1)
    out = subprocess.run(["redis-cli", "-p", rport, "LRANGE", "eastwatch-vmtest", "0", "-1"],
                         capture_output=True, text=True).stdout
    recs = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
    if recs and first_record is None:
        first_record = time.time() - t0
        print(f"vm-test: first EVE record at the collector after {first_record:.0f} s ({recs[0].get('event_type')})")
    for r in recs:
        if r.get("event_type") == "alert":
            seen.setdefault(r["alert"]["signature_id"], r)
    if {9000001, 9000008, 9990001} <= set(seen):
        break
    for f in frames:          # one replay of the capture into the mirror NIC
        sock.sendto(f, ("127.0.0.1", port)); time.sleep(0.002)
    rounds += 1
    time.sleep(5)
print(f"vm-test: {len(seen)} distinct sids after {time.time() - t0:.0f} s, {rounds} replays: {sorted(seen)}")
ok = True
for sid in (9000001, 9000008, 9990001):
    r = seen.get(sid)
    if r is None:
        print(f"FAIL: no alert {sid} at the collector"); ok = False; continue
    if r.get("host") != name:
        print(f"FAIL: alert {sid} host {r.get('host')!r}, expected {name!r}"); ok = False
r = seen.get(9000001)
if r is not None:
    vm = r.get("vm") or {}
    src = (vm.get("src") or {}).get("name"); dst = (vm.get("dest") or {}).get("name")
    if (src, dst) != ("web-01", "app-01"):
        print(f"FAIL: Log4Shell alert vm {vm!r}, expected src web-01 -> dest app-01"); ok = False
for r in seen.values():
    if r.get("host") != name:
        print(f"FAIL: alert {r['alert']['signature_id']} from host {r.get('host')!r}"); ok = False
sys.exit(0 if ok else 1)
PY
rc=$?
set -e
boot=$(( $(date +%s) - start ))
sshopt=(-o LogLevel=ERROR -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=20 -o BatchMode=yes -p "$ssh_port")
if [ $rc = 0 ]; then
  if ! ssh "${sshopt[@]}" -i "$tmp/key" debian@127.0.0.1 \
       'systemctl is-active eastwatch; sudo nft list ruleset | grep -c "policy drop"; systemctl list-units --type=service --state=running --no-legend | awk "{print \$1}"' \
       > "$tmp/ssh.out" 2>&1; then
    echo "FAIL: key login over SSH"; cat "$tmp/ssh.out"; rc=1
  else
    sed 's/^/vm-test: guest: /' "$tmp/ssh.out"
    head -1 "$tmp/ssh.out" | grep -qx active || { echo "FAIL: eastwatch not active"; rc=1; }
    allowed=' ssh.service eastwatch.service systemd-journald.service systemd-udevd.service
      systemd-networkd.service systemd-resolved.service systemd-timesyncd.service
      systemd-logind.service dbus.service getty@tty1.service serial-getty@ttyS0.service '
    for unit in $(tail -n +3 "$tmp/ssh.out" | grep '\.service$'); do
      case "$allowed" in *" $unit "*|*" $unit"$'\n'*) ;; *) echo "FAIL: unexpected service running: $unit"; rc=1 ;; esac
    done
  fi
  if ssh -o LogLevel=ERROR -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=20 \
       -o BatchMode=yes -o PubkeyAuthentication=no -o PreferredAuthentications=password,keyboard-interactive \
       -p "$ssh_port" debian@127.0.0.1 true > "$tmp/ssh-pw.out" 2>&1; then
    echo "FAIL: a login without a key succeeded"; rc=1
  elif ! grep -q 'Permission denied (publickey)' "$tmp/ssh-pw.out"; then
    echo "FAIL: sshd offers more than publickey: $(cat "$tmp/ssh-pw.out")"; rc=1
  fi
fi
if [ -s "$tmp/mirror-tx.log" ]; then
  echo "FAIL: the guest sent $(wc -l < "$tmp/mirror-tx.log") frame(s) out of its mirror NIC (first 64 bytes each):"
  head -n 5 "$tmp/mirror-tx.log"; rc=1
else
  echo "vm-test: the mirror NIC sent nothing"
fi
grep -q "eastwatch-firstboot: configured from" "$tmp/console.log" || { echo "FAIL: no eastwatch-firstboot line on the console"; rc=1; }
if [ $rc != 0 ]; then
  echo "--- console (last 60 lines)"; tail -n 60 "$tmp/console.log"; cat "$tmp/qemu.log"
  echo "--- guest journal (failed units, eastwatch)"
  timeout 60 ssh "${sshopt[@]}" -i "$tmp/key" debian@127.0.0.1 \
    'systemctl --failed --no-legend; sudo journalctl -b --no-pager -u eastwatch-firstboot -u eastwatch -u nftables -u cloud-init-local | tail -n 60' 2>&1 || true
fi
echo "vm-test: $([ $rc = 0 ] && echo PASS || echo FAIL) (${boot} s from qemu start)"
exit $rc
