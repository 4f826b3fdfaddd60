#!/usr/bin/env bash
# mmdebstrap customize hook of build.sh: turns the chroot ROOT into the sensor appliance.
# usage: customize.sh ROOT VM_DIR
set -euo pipefail
root="$1"
vm="$2"
in_root() { chroot "$root" "$@"; }

# First boot: the VM's settings (cloud-init user-data / OVF properties) -> eastwatch.yaml,
# networkd files for both NICs, the nftables ruleset; eastwatch starts only after it succeeds.
install -m 0755 "$vm/eastwatch-firstboot" "$root/usr/sbin/eastwatch-firstboot"
install -m 0644 "$vm/eastwatch-firstboot.service" "$root/lib/systemd/system/eastwatch-firstboot.service"
install -m 0644 "$vm/eastwatch-inventory-refresh.service" "$vm/eastwatch-inventory-refresh.timer" \
  "$root/lib/systemd/system/"
install -d "$root/etc/systemd/system/eastwatch.service.d" "$root/etc/eastwatch-vm"
cat > "$root/etc/systemd/system/eastwatch.service.d/10-vm.conf" <<'EOF'
# Sensor VM: the config is written by eastwatch-firstboot.service from the VM's settings; before
# each start `eastwatch-firstboot --check` (as root) downloads the inventory and rule URLs and
# runs `eastwatch -T`. A failure keeps the sensor stopped; the journal and the console
# (/etc/issue.d/eastwatch.issue) say why.
[Unit]
Requires=eastwatch-firstboot.service
After=eastwatch-firstboot.service

[Service]
ExecStartPre=
ExecStartPre=+/usr/sbin/eastwatch-firstboot --check
ExecStartPre=/usr/bin/eastwatch -T -c /etc/eastwatch/eastwatch.yaml $EASTWATCH_OPTIONS
EOF
install -m 0644 "$vm/syslinux.cfg" "$root/etc/eastwatch-vm/syslinux.cfg"
in_root systemctl enable eastwatch-firstboot.service eastwatch.service eastwatch-inventory-refresh.timer \
  systemd-networkd.service \
  systemd-resolved.service nftables.service >/dev/null 2>&1

# cloud-init: NoCloud (seed ISO labelled cidata), ConfigDrive (OpenStack) and OVF (vSphere ISO
# transport); the network is the first boot script's (systemd-networkd), not cloud-init's.
cat > "$root/etc/cloud/cloud.cfg.d/90-eastwatch.cfg" <<'EOF'
datasource_list: [NoCloud, ConfigDrive, OVF, None]
datasource:
  OVF:
    allow_raw_data: false
network: {config: disabled}
ssh_pwauth: false
disable_root: true
# The root filesystem fills its partition already; no locales are installed.
resize_rootfs: false
growpart: {mode: "off"}
locale: false
EOF

# SSH: keys only; host keys are made per VM (cloud-init, else ssh-keygen -A before sshd).
rm -f "$root"/etc/ssh/ssh_host_*
cat > "$root/etc/ssh/sshd_config.d/10-eastwatch.conf" <<'EOF'
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
PermitEmptyPasswords no
X11Forwarding no
AllowTcpForwarding no
EOF
install -d "$root/etc/systemd/system/ssh.service.d"
printf '[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\nExecStartPre=/usr/sbin/sshd -t\n' \
  > "$root/etc/systemd/system/ssh.service.d/10-hostkeys.conf"
# No passwords at all: root locked, no other local user before cloud-init's (key only).
in_root usermod -p '!' root

# Nothing else runs: timers and helpers the appliance does not need are masked.
for unit in apt-daily.timer apt-daily-upgrade.timer apt-daily.service apt-daily-upgrade.service \
  dpkg-db-backup.timer dpkg-db-backup.service e2scrub_all.timer e2scrub_reap.service \
  fstrim.timer man-db.timer remote-fs.target; do
  in_root systemctl mask "$unit" >/dev/null 2>&1 || true
done
# Before the first boot script writes its ruleset: SSH in, nothing else.
cat > "$root/etc/nftables.conf" <<'EOF'
#!/usr/sbin/nft -f
# Replaced by eastwatch-firstboot with the management and mirror NICs' rules.
flush ruleset
table inet eastwatch {
  chain input {
    type filter hook input priority filter; policy drop;
    ct state established,related accept
    iif lo accept
    meta l4proto { 1, 58 } accept    # ICMP, ICMPv6
    udp dport { 68, 546 } accept
    tcp dport 22 accept
  }
}
EOF

# Filesystems; /boot is the FAT partition SYSLINUX boots from.
cat > "$root/etc/fstab" <<'EOF'
LABEL=eastwatch-root  /      ext4  errors=remount-ro,noatime  0 1
LABEL=EWBOOT          /boot  vfat  umask=0077,noatime,nofail  0 2
EOF
# Kernel updates: keep the names syslinux.cfg boots (/boot/vmlinuz, /boot/initrd.img).
install -d "$root/etc/kernel/postinst.d" "$root/etc/initramfs/post-update.d"
cat > "$root/etc/kernel/postinst.d/zz-eastwatch-syslinux" <<'EOF'
#!/bin/sh
# $1: the kernel version just installed.
[ -f "/boot/vmlinuz-$1" ] && cp --remove-destination "/boot/vmlinuz-$1" /boot/vmlinuz
[ -f "/boot/initrd.img-$1" ] && cp --remove-destination "/boot/initrd.img-$1" /boot/initrd.img
exit 0
EOF
cp "$root/etc/kernel/postinst.d/zz-eastwatch-syslinux" "$root/etc/initramfs/post-update.d/zz-eastwatch-syslinux"
chmod 0755 "$root/etc/kernel/postinst.d/zz-eastwatch-syslinux" "$root/etc/initramfs/post-update.d/zz-eastwatch-syslinux"
kver="$(ls "$root/lib/modules" | sort -V | tail -n 1)"
cp --remove-destination "$root/boot/vmlinuz-$kver" "$root/boot/vmlinuz"
cp --remove-destination "$root/boot/initrd.img-$kver" "$root/boot/initrd.img"

# Per-VM identity and a small image.
echo eastwatch-sensor > "$root/etc/hostname"
: > "$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
ln -sf ../run/systemd/resolve/stub-resolv.conf "$root/etc/resolv.conf"
in_root apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/log/*.log \
  "$root"/tmp/* "$root"/var/tmp/*
