#!/usr/bin/env bash
# Builds if needed and runs the test suite through ctest.
#   scripts/test.sh                          unit and mount tests, build/
#   scripts/test.sh --sanitize=address       the same under ASan+UBSan (build-asan/)
#   scripts/test.sh --sanitize=thread        the same under TSan (build-tsan/)
#   scripts/test.sh -L experiments           only tests with that ctest label
# Extra arguments go to ctest. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
sanitize=""
ctest_args=()
for arg in "$@"; do
  case $arg in
    --sanitize=*) sanitize=${arg#--sanitize=} ;;
    *) ctest_args+=("$arg") ;;
  esac
done
scripts/build.sh ${sanitize:+--sanitize=$sanitize}
dir=build
[ "$sanitize" = address ] && dir=build-asan
[ "$sanitize" = thread ] && dir=build-tsan
# A daemon's stderr is /dev/null once it detaches: sanitizer reports go to
# files (log_path, one per process) that are printed, and fail the run, at
# the end. Races in third-party code are suppressed in scripts/tsan.supp.
reports=$PWD/$dir/sanitizer-reports
suppressions=$PWD/scripts/tsan.supp
rm -rf "$reports"
[ -n "$sanitize" ] && mkdir -p "$reports"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:log_path=$reports/asan}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:log_path=$reports/ubsan}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:log_path=$reports/tsan:suppressions=$suppressions}
cd "$dir"
rc=0
ctest --output-on-failure --timeout 600 -j "$(nproc)" "${ctest_args[@]}" || rc=$?
if [ -n "$sanitize" ] && [ -n "$(ls -A "$reports")" ]; then
  for f in "$reports"/*; do
    echo "=== $f"
    cat "$f"
  done
  echo "test.sh: the sanitizer reported (above, and in $reports)" >&2
  rc=1
fi
exit "$rc"
