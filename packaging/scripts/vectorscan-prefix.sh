#!/usr/bin/env bash
# Unpacks Debian's libvectorscan-dev and libvectorscan5 into a prefix (default /opt/vectorscan)
# beside an installed libhyperscan-dev, which the package itself would conflict with. Build with
#   cmake -DEASTWATCH_REGEX_ENGINE=vectorscan -DEASTWATCH_VECTORSCAN_ROOT=/opt/vectorscan ...
# usage: vectorscan-prefix.sh [PREFIX]; prints the prefix; exit 1 if the packages cannot be had.
set -euo pipefail
prefix="${1:-/opt/vectorscan}"
arch="$(dpkg --print-architecture)"
libdir="$prefix/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo "$arch-linux-gnu")"
if [ -f "$prefix/usr/include/hs/hs.h" ] && [ -f "$libdir/libhs.a" ] && [ -f "$libdir/pkgconfig/libhs.pc" ]; then
  echo "$prefix"
  exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download libvectorscan-dev libvectorscan5 >/dev/null 2>&1) || {
  (apt-get update -qq && cd "$work" && apt-get download libvectorscan-dev libvectorscan5 >/dev/null 2>&1) || {
    echo "vectorscan-prefix: cannot download libvectorscan-dev/libvectorscan5 (not in this archive?)" >&2
    exit 1
  }
}
mkdir -p "$prefix"
for deb in "$work"/*.deb; do dpkg -x "$deb" "$prefix"; done
echo "$prefix"
