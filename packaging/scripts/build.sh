#!/usr/bin/env bash
# Builds Eastwatch. usage: build.sh [release|asan|fuzz|vectorscan]  (default: release)
#   release -> build/       Release, with tests and benchmarks
#   asan    -> build-asan/  Debug with AddressSanitizer + UndefinedBehaviorSanitizer, tests only
#   fuzz    -> build-fuzz/  clang, libFuzzer targets only
#   vectorscan -> build-vectorscan/  Release with Vectorscan instead of Hyperscan, tests only
#              (libvectorscan-dev unpacked into /opt/vectorscan by vectorscan-prefix.sh, or the
#              installed libhs where that is Vectorscan: ARM)
set -euo pipefail
cd "$(dirname "$0")/../.." || exit 2
kind="${1:-release}"
jobs="$(nproc)"
case "$kind" in
  release)
    cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build build -j "$jobs"
    ;;
  asan)
    cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DEASTWATCH_SANITIZE=ON -DEASTWATCH_BENCH=OFF >/dev/null
    cmake --build build-asan -j "$jobs"
    ;;
  fuzz)
    CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEASTWATCH_FUZZ=ON \
      -DEASTWATCH_TESTS=OFF -DEASTWATCH_BENCH=OFF >/dev/null
    cmake --build build-fuzz -j "$jobs"
    ;;
  vectorscan)
    root=""
    if dpkg-query -W -f='${Status}' libhyperscan-dev 2>/dev/null | grep -q "install ok installed"; then
      root="$(bash packaging/scripts/vectorscan-prefix.sh "${EASTWATCH_VECTORSCAN_ROOT:-/opt/vectorscan}")"
    fi
    cmake -S . -B build-vectorscan -G Ninja -DCMAKE_BUILD_TYPE=Release -DEASTWATCH_REGEX_ENGINE=vectorscan \
      -DEASTWATCH_VECTORSCAN_ROOT="$root" -DEASTWATCH_BENCH=OFF >/dev/null
    cmake --build build-vectorscan -j "$jobs"
    ;;
  *)
    echo "usage: $0 [release|asan|fuzz|vectorscan]" >&2
    exit 2
    ;;
esac
