#!/usr/bin/env bash
# Builds the Debian package: a Release build of the sensor alone in build-package/ (no tests,
# no benchmarks), then `cpack -G DEB`. Prints the .deb's path on the last line of stdout.
# usage: package.sh [BUILD_DIR]     (default: build-package; an existing Release build dir
#                                    with tests also works: everything in it is built first)
# Environment: EASTWATCH_LINTIAN=1 also runs lintian on the result (apt-get install lintian).
set -euo pipefail
cd "$(dirname "$0")/../.." || exit 2
build="${1:-build-package}"
if [ ! -f "$build/CMakeCache.txt" ]; then
  # Debian's hardening flags (dpkg-buildflags with hardening=+all: fortify, stack protector,
  # relro, bindnow, PIE), as a Debian package build would use them.
  export DEB_BUILD_MAINT_OPTIONS=hardening=+all
  cppflags="$(dpkg-buildflags --get CPPFLAGS)"
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DEASTWATCH_TESTS=OFF -DEASTWATCH_BENCH=OFF \
    -DCMAKE_C_FLAGS="$cppflags $(dpkg-buildflags --get CFLAGS)" \
    -DCMAKE_CXX_FLAGS="$cppflags $(dpkg-buildflags --get CXXFLAGS)" \
    -DCMAKE_EXE_LINKER_FLAGS="$(dpkg-buildflags --get LDFLAGS)" >/dev/null
fi
type="$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build/CMakeCache.txt")"
if [ "$type" != "Release" ] || grep -q '^EASTWATCH_SANITIZE:BOOL=ON' "$build/CMakeCache.txt"; then
  echo "package.sh: $build is a $type build${type:+ }(sanitized or not Release): package a Release build" >&2
  exit 2
fi
cmake --build "$build" -j "$(nproc)" >/dev/null
out="$build/packages"
mkdir -p "$out"
rm -f "$out"/eastwatch_*.deb
(cd "$build" && cpack -G DEB -B "$(pwd)/packages" >/dev/null)
deb="$(ls "$out"/eastwatch_*.deb)"
if [ "${EASTWATCH_LINTIAN:-0}" = 1 ]; then
  lintian --info "$deb" >&2 || true
fi
realpath "$deb"
