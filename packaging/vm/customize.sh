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
# Kernel updates: SYSLINUX boots the versioned files (/boot/vmlinuz-KVER, /boot/initrd.img-KVER;
# FAT has no links, and copies under stable names put the ~30 MB twice into every image format).
# After a kernel's install or removal and after each initramfs update, the hook points
# syslinux.cfg's LINUX and INITRD lines at the newest kernel in /boot that has its initramfs.
install -d "$root/etc/kernel/postinst.d" "$root/etc/kernel/postrm.d" "$root/etc/initramfs/post-update.d"
cat > "$root/etc/kernel/postinst.d/zz-eastwatch-syslinux" <<'HOOK'
#!/bin/sh
# usage: zz-eastwatch-syslinux [KVER [FILE [BOOT_DIR]]]: the kernel and initramfs hooks'
# arguments are not used; BOOT_DIR (default /boot) is for the image build.
boot="${3:-/boot}"
cfg="$boot/syslinux/syslinux.cfg"
[ -f "$cfg" ] || exit 0
best=
for k in "$boot"/vmlinuz-*; do
  v="${k#"$boot"/vmlinuz-}"
  [ -f "$k" ] && [ -f "$boot/initrd.img-$v" ] || continue
  best="$(printf '%s\n%s\n' "$best" "$v" | sort -V | tail -n 1)"
done
[ -n "$best" ] || exit 0
sed -i -e "s|^\([[:space:]]*LINUX[[:space:]]\{1,\}\).*|\1/vmlinuz-$best|" \
  -e "s|^\([[:space:]]*INITRD[[:space:]]\{1,\}\).*|\1/initrd.img-$best|" "$cfg"
exit 0
HOOK
chmod 0755 "$root/etc/kernel/postinst.d/zz-eastwatch-syslinux"
cp -p "$root/etc/kernel/postinst.d/zz-eastwatch-syslinux" "$root/etc/kernel/postrm.d/"
cp -p "$root/etc/kernel/postinst.d/zz-eastwatch-syslinux" "$root/etc/initramfs/post-update.d/"
# The image's syslinux.cfg (build.sh copies it to the FAT): the kernel installed now.
install -d "$root/boot/syslinux"
cp "$root/etc/eastwatch-vm/syslinux.cfg" "$root/boot/syslinux/syslinux.cfg"
sh "$root/etc/kernel/postinst.d/zz-eastwatch-syslinux" "" "" "$root/boot"
grep -q '^ *LINUX /vmlinuz-[0-9]' "$root/boot/syslinux/syslinux.cfg"
grep -q '^ *INITRD /initrd.img-[0-9]' "$root/boot/syslinux/syslinux.cfg"
mv "$root/boot/syslinux/syslinux.cfg" "$root/etc/eastwatch-vm/syslinux.cfg"
rmdir "$root/boot/syslinux"

# Per-VM identity and a small image.
echo eastwatch-sensor > "$root/etc/hostname"
: > "$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
ln -sf ../run/systemd/resolve/stub-resolv.conf "$root/etc/resolv.conf"
in_root apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/log/*.log \
  "$root"/tmp/* "$root"/var/tmp/*
