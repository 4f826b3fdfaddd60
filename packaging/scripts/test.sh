#!/usr/bin/env bash
# README command (b), and what CI runs: installs what is needed, builds Release and runs every
# test (unit + end-to-end), the same with Vectorscan as the regex engine, builds with ASan+UBSan
# and runs every test again, then builds the
# libFuzzer targets with clang and runs each over its corpus for a short smoke run.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
bash packaging/scripts/install-deps.sh || exit 1
FUZZ_SECONDS="${EASTWATCH_FUZZ_SECONDS:-12}"
total_passed=0
total_failed=0

run_ctest() {  # run_ctest BUILD_DIR LABEL [EXCLUDE_REGEX]
  local log
  log="$(mktemp)"
  ctest --test-dir "$1" --output-on-failure -j "$(nproc)" ${3:+-E "$3"} 2>&1 | tee "$log" | grep -vE "^ *[0-9]+/[0-9]+ Test +#[0-9]+: .* Passed" || true
  local summary passed failed
  summary="$(grep -E "tests passed, [0-9]+ tests failed out of" "$log" | tail -1)"
  failed="$(echo "$summary" | sed -E 's/.*tests passed, ([0-9]+) tests failed out of ([0-9]+).*/\1/')"
  local total_tests
  total_tests="$(echo "$summary" | sed -E 's/.*failed out of ([0-9]+).*/\1/')"
  if [ -z "$summary" ]; then
    echo "== $2: ctest did not run"
    total_failed=$((total_failed + 1))
    return
  fi
  passed=$((total_tests - failed))
  echo "== $2: $passed passed, $failed failed"
  total_passed=$((total_passed + passed))
  total_failed=$((total_failed + failed))
}

echo "== Release build"
if bash packaging/scripts/build.sh release; then
  run_ctest build "Release tests"
else
  echo "== Release build FAILED"
  total_failed=$((total_failed + 1))
fi

# Built with Vectorscan (EASTWATCH_REGEX_ENGINE=vectorscan; what ARM hosts run): every unit and
# replay e2e test (~50 s on 2 vCPUs). The live-capture, deployment and hypervisor tests do not
# depend on the engine and are not run twice.
echo "== Vectorscan build"
if bash packaging/scripts/build.sh vectorscan; then
  run_ctest build-vectorscan "Vectorscan tests" \
    '^(deb_install|e2e_vmimage|e2e_fleet|e2e_dpdk|e2e_reload|e2e_daemon|e2e_metrics|hypervisor.*)$'
else
  echo "== Vectorscan build FAILED"
  total_failed=$((total_failed + 1))
fi

echo "== ASan+UBSan build"
if bash packaging/scripts/build.sh asan; then
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_ctest build-asan "ASan+UBSan tests"
else
  echo "== ASan+UBSan build FAILED"
  total_failed=$((total_failed + 1))
fi

echo "== libFuzzer smoke run (${FUZZ_SECONDS}s per target)"
if bash packaging/scripts/build.sh fuzz; then
  for target in build-fuzz/tests/fuzz/*_fuzz; do
    [ -x "$target" ] || continue
    name="$(basename "$target")"
    corpus="tests/fuzz/corpus/$name"
    work="$(mktemp -d)"
    if "$target" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=0 \
         -artifact_prefix="$work/" "$work" "$corpus" >"$work/log" 2>&1; then
      echo "== fuzz $name: passed ($(grep -oE '#[0-9]+' "$work/log" | tail -1 | tr -d '#') runs)"
      total_passed=$((total_passed + 1))
    else
      echo "== fuzz $name: FAILED"
      tail -40 "$work/log"
      total_failed=$((total_failed + 1))
    fi
  done
else
  echo "== fuzz build FAILED"
  total_failed=$((total_failed + 1))
fi

echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
