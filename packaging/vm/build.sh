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
# restores the link.) Recommends off; merged /usr set up by mmdebstrap's merged-usr hook (the
# usr-is-merged package), not by the usrmerge package, which pulls in perl (~55 MB).
packages=(
  systemd-sysv udev dbus systemd-resolved systemd-timesyncd
  linux-image-cloud-amd64 initramfs-tools
  cloud-init openssh-server sudo nftables iproute2 ethtool ca-certificates logrotate
  python3-yaml procps less netbase
)
# Cached per .deb and package list (OUT/cache/rootfs-KEY.tar): rebuilding the image after a
# change to the VM scripts only reruns customize.sh and the disk steps.
# Left out by dpkg (path-exclude, kept in the image's /etc/dpkg/dpkg.cfg.d/99mmdebstrap, so
# package updates leave them out too): man pages, info, translations, docs (the copyright
# files and the .deb's own doc kept); the locale sources (cloud-init depends on locales, but
# nothing here generates one: cloud-init has locale: false, C.UTF-8 is built into libc);
# udev's vendor/model name databases (ID_*_FROM_DATABASE, names for display only; the
# interface naming and input rules stay); kernel modules a sensor VM never loads: network
# and cluster filesystems, RDMA/InfiniBand and what needs it, storage targets, RAID/device
# mapper, persistent memory, COMEDI, the rarely used protocols (SCTP, DCCP, RDS, TIPC, SMC).
# Kept: the virtual NICs and disks of KVM, vSphere and Hyper-V (virtio, vmxnet3, pvscsi,
# hv_*, ata_piix), the physical NICs' VF drivers (SR-IOV), vfio/uio (DPDK),
# netfilter (nftables), isofs/udf/vfat (seed and OVF ISOs, /boot).
excludes=(
  /usr/share/man/'*' /usr/share/locale/'*' /usr/share/doc/'*' /usr/share/info/'*'
  /usr/share/i18n/locales/'*' /usr/share/i18n/charmaps/'*'
  /lib/udev/hwdb.d/20-OUI.hwdb /lib/udev/hwdb.d/20-'*'-vendor'*'.hwdb
)
includes=(/usr/share/locale/locale.alias /usr/share/doc/eastwatch/'*' /usr/share/doc/'*'/copyright)
for m in fs/btrfs fs/ceph fs/erofs fs/exfat fs/lockd fs/nfs fs/nfs_common fs/nfsd fs/orangefs \
  fs/romfs fs/smb fs/sysv fs/xfs fs/zonefs drivers/comedi drivers/infiniband drivers/md \
  drivers/nvdimm drivers/target drivers/nvme/target drivers/nvme/host/nvme-rdma.ko \
  drivers/block/rbd.ko drivers/xen/xen-scsiback.ko drivers/vhost/vhost_scsi.ko \
  drivers/cxl/cxl_pmem.ko drivers/acpi/nfit drivers/dax/dax_pmem.ko \
  net/ceph net/dccp net/rds net/sctp net/smc net/sunrpc net/tipc; do
  case "$m" in
    *.ko) excludes+=("/lib/modules/*/kernel/$m") ;;
    *) excludes+=("/lib/modules/*/kernel/$m/*") ;;
  esac
done
dpkgopts=()
for p in "${excludes[@]}"; do dpkgopts+=(--dpkgopt="path-exclude=$p"); done
for p in "${includes[@]}"; do dpkgopts+=(--dpkgopt="path-include=$p"); done
key="$(printf '%s\n' "$(sha256sum "$deb" | cut -d' ' -f1)" "${packages[*]}" "${dpkgopts[*]}" "$mirror" \
  | sha256sum | cut -c1-16)"
tarball="$out/cache/rootfs-$key.tar"
if [ ! -f "$tarball" ]; then
  mkdir -p "$out/cache"
  rm -f "$out"/cache/rootfs-*.tar
  mmdebstrap --variant=apt --mode=root --format=tar \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --aptopt='APT::Install-Recommends "false"' \
    "${dpkgopts[@]}" \
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
# (ddb.adapterType lsilogic is what VMDKs on a SCSI bus carry; the OVF asks for PVSCSI.)
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
