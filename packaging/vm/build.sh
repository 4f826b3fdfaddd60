#!/usr/bin/env bash
# Builds the Eastwatch sensor VM image (packaging/vm/README.md): a minimal Debian 12 system made
# by mmdebstrap from the Debian archive plus the Eastwatch .deb (packaging/scripts/package.sh),
# written to a partitioned disk without loop devices or mounts (root: mkfs.ext4 -d; /boot: FAT
# with SYSLINUX installed by mtools), then converted with qemu-img:
#   OUT/eastwatch-sensor.qcow2   KVM, OpenStack, Proxmox (compressed)
#   OUT/eastwatch-sensor.ova     vSphere: OVF descriptor with the eastwatch.* properties + VMDK
#   OUT/eastwatch-sensor.vhdx    Hyper-V (generation 1: BIOS boot)
# usage: build.sh [OUT_DIR]        (default: build-vm/ in the repository root; needs root)
# Environment: EASTWATCH_DEB=path uses that .deb instead of building one; MIRROR=URL the
# Debian mirror (default http://deb.debian.org/debian); DISK_SIZE virtual disk size (4G).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="$(realpath -m "${1:-$repo/build-vm}")"
mirror="${MIRROR:-http://deb.debian.org/debian}"
disk_size="${DISK_SIZE:-4G}"
name=eastwatch-sensor

if [ "$(id -u)" != 0 ]; then
  echo "build.sh: needs root (mmdebstrap root mode, chroot for the .deb's maintainer scripts)" >&2
  exit 2
fi
need=()
for tool in mmdebstrap:mmdebstrap qemu-img:qemu-utils syslinux:syslinux mcopy:mtools \
  mkfs.vfat:dosfstools mkfs.ext4:e2fsprogs sfdisk:fdisk; do
  command -v "${tool%%:*}" >/dev/null || need+=("${tool#*:}")
done
[ -f /usr/lib/syslinux/mbr/mbr.bin ] || need+=(syslinux-common)
if [ ${#need[@]} -gt 0 ]; then
  apt-get install -y --no-install-recommends "${need[@]}" syslinux-common >&2
fi

deb="${EASTWATCH_DEB:-}"
if [ -z "$deb" ]; then
  deb="$(bash "$repo/packaging/scripts/package.sh" | tail -n 1)"
fi
deb="$(realpath "$deb")"
echo "build.sh: packaging $deb" >&2

mkdir -p "$out"
work="$(mktemp -d "$out/work.XXXXXX")"
trap 'rm -rf "$work"' EXIT
root="$work/root"

# The system: Essential + apt, then only what the appliance runs. (systemd-resolved makes
# /etc/resolv.conf a link into /run: the host's copy serves the .deb's install, customize.sh
# restores the link.) Recommends off; man pages,
# locales and most docs left out (dpkg path-exclude), the .deb's own doc kept.
packages=(
  systemd-sysv udev dbus systemd-resolved systemd-timesyncd
  linux-image-cloud-amd64 initramfs-tools
  cloud-init openssh-server sudo nftables iproute2 ethtool ca-certificates logrotate
  python3-yaml procps less netbase
)
# Cached per .deb and package list (OUT/cache/rootfs-KEY.tar): rebuilding the image after a
# change to the VM scripts only reruns customize.sh and the disk steps.
key="$(printf '%s\n' "$(sha256sum "$deb" | cut -d' ' -f1)" "${packages[*]}" "$mirror" | sha256sum | cut -c1-16)"
tarball="$out/cache/rootfs-$key.tar"
if [ ! -f "$tarball" ]; then
  mkdir -p "$out/cache"
  rm -f "$out"/cache/rootfs-*.tar
  mmdebstrap --variant=apt --mode=root --format=tar \
    --aptopt='APT::Install-Recommends "false"' \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/eastwatch/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --include="$(IFS=,; echo "${packages[*]}")" \
    --customize-hook='rm -f "$1/etc/resolv.conf"; cp /etc/resolv.conf "$1/etc/resolv.conf"' \
    --customize-hook="copy-in $deb /tmp" \
    --customize-hook="chroot \"\$1\" apt-get install -y --no-install-recommends /tmp/$(basename "$deb")" \
    --customize-hook="rm -f \"\$1\"/tmp/$(basename "$deb")" \
    bookworm "$tarball.tmp" "$mirror" >&2
  mv "$tarball.tmp" "$tarball"
fi
mkdir -p "$root"
tar -C "$root" --xattrs --xattrs-include='*' --numeric-owner -xpf "$tarball"
bash "$here/customize.sh" "$root" "$here" >&2

# The disk: MBR, p1 FAT /boot (kernel, initrd, SYSLINUX) 256 MiB, p2 ext4 root (label
# eastwatch-root) filling the rest. The FAT partition is mounted at /boot in the guest, so
# kernel updates land there (customize.sh's kernel hook keeps the stable names SYSLINUX boots).
raw="$work/disk.raw"
truncate -s "$disk_size" "$raw"
boot_start=2048
boot_sectors=$((256 * 2048))
root_start=$((boot_start + boot_sectors))
total_sectors=$(($(stat -c %s "$raw") / 512))
root_sectors=$((total_sectors - root_start))
sfdisk --quiet "$raw" <<EOF
label: dos
start=$boot_start, size=$boot_sectors, type=c, bootable
start=$root_start, size=$root_sectors, type=83
EOF
dd if=/usr/lib/syslinux/mbr/mbr.bin of="$raw" bs=440 count=1 conv=notrunc status=none

boot_img="$work/boot.vfat"
truncate -s $((boot_sectors * 512)) "$boot_img"
mkfs.vfat -F 32 -n EWBOOT "$boot_img" >/dev/null
mmd -i "$boot_img" ::/syslinux
mcopy -i "$boot_img" -s "$root"/boot/* ::/
rm -rf "${root:?}/boot/"*
syslinux --install --directory /syslinux "$boot_img"
mcopy -i "$boot_img" "$root/etc/eastwatch-vm/syslinux.cfg" ::/syslinux/syslinux.cfg
for m in ldlinux.c32 libcom32.c32 libutil.c32 menu.c32; do
  [ -f "/usr/lib/syslinux/modules/bios/$m" ] && mcopy -o -i "$boot_img" "/usr/lib/syslinux/modules/bios/$m" ::/syslinux/
done
dd if="$boot_img" of="$raw" bs=512 seek=$boot_start conv=notrunc,sparse status=none

root_img="$work/root.ext4"
mkfs.ext4 -q -L eastwatch-root -d "$root" "$root_img" "$((root_sectors / 2))k"
dd if="$root_img" of="$raw" bs=512 seek=$root_start conv=notrunc,sparse status=none
rm -f "$boot_img" "$root_img"

qemu-img convert -f raw -O qcow2 -c "$raw" "$out/$name.qcow2"
qemu-img convert -f raw -O vhdx -o subformat=dynamic,block_size=1M "$raw" "$out/$name.vhdx"
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized,adapter_type=lsilogic "$raw" "$work/$name-disk1.vmdk"
vsize="$(stat -c %s "$raw")"
fsize="$(stat -c %s "$work/$name-disk1.vmdk")"
version="$(dpkg-deb -f "$deb" Version)"
sed -e "s/@VSIZE@/$vsize/g" -e "s/@FSIZE@/$fsize/g" -e "s/@VERSION@/$version/g" \
  "$here/eastwatch-sensor.ovf.in" > "$work/$name.ovf"
(cd "$work" && {
  printf 'SHA256(%s)= %s\n' "$name.ovf" "$(sha256sum "$name.ovf" | cut -d' ' -f1)"
  printf 'SHA256(%s)= %s\n' "$name-disk1.vmdk" "$(sha256sum "$name-disk1.vmdk" | cut -d' ' -f1)"
} > "$name.mf")
# An OVA is a tar with the descriptor first (OVF 1.x, section 5.3).
tar -C "$work" --format=ustar -cf "$out/$name.ova" "$name.ovf" "$name.mf" "$name-disk1.vmdk"
for f in "$out/$name.qcow2" "$out/$name.ova" "$out/$name.vhdx"; do
  printf '%s\t%s MB\n' "$f" "$(( ($(stat -c %s "$f") + 1048575) / 1048576 ))"
done
