#!/usr/bin/env bash
# Builds Eastwatch. usage: build.sh [release|asan|fuzz]  (default: release)
#   release -> build/       Release, with tests and benchmarks
#   asan    -> build-asan/  Debug with AddressSanitizer + UndefinedBehaviorSanitizer, tests only
#   fuzz    -> build-fuzz/  clang, libFuzzer targets only
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
  *)
    echo "usage: $0 [release|asan|fuzz]" >&2
    exit 2
    ;;
esac
