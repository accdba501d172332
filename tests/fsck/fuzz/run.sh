#!/bin/sh
# Runs a libFuzzer target for SECONDS (default 60) from its seed corpus and
# regression inputs, under ASan+UBSan; builds only that target in
# build-fuzz/ with clang first (OSS-Fuzz's -O1
# -gline-tables-only). Exits non-zero on a crash, a sanitizer report, a
# leak, an input taking over 20 s (a hang) or over 2 GiB. Crashing inputs
# land in build-fuzz/fuzz-crashes/ (docs/fsck.md says what to do with them).
#   tests/fsck/fuzz/run.sh [SECONDS [JOBS]]
#   FUZZ_SEED=N   libFuzzer's -seed (default: a random one, printed)
#   FUZZ_TARGET=fsck_fuzz_repair  the repair to a fixpoint (fsck -y, then
#                 fsck -n must find nothing) instead of fsck_fuzz (-n)
#   FUZZ_TARGET=replay_fuzz  the trace readers of `cardfs replay` (seeds:
#                 tests/replay/fixtures, tests/replay/fuzz/regressions)
# CI (.ci/run) runs FUZZ_SEED=1 tests/fsck/fuzz/run.sh 45, then the same
# with FUZZ_TARGET=replay_fuzz for 15 s.
set -eu
cd "$(dirname "$0")/../../.."
secs=${1:-60}
jobs=${2:-1}
if ! command -v clang++ >/dev/null; then
  echo "run.sh: clang++ not found (scripts/setup.sh installs clang and libclang-rt-dev)" >&2
  exit 2
fi
if [ ! -f build-fuzz/CMakeCache.txt ]; then
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCARDFS_FUZZ=ON -DCMAKE_BUILD_TYPE=Release \
    "-DCMAKE_C_FLAGS_RELEASE=-O1 -gline-tables-only" \
    "-DCMAKE_CXX_FLAGS_RELEASE=-O1 -gline-tables-only" >/dev/null
fi
target=${FUZZ_TARGET:-fsck_fuzz}
case "$target" in
  fsck_fuzz|fsck_fuzz_repair) seeds="tests/fsck/fuzz/corpus/*.img tests/fsck/fuzz/regressions/*.img" ;;
  replay_fuzz) seeds="tests/replay/fixtures/* tests/replay/fuzz/regressions/*" ;;
  *) echo "run.sh: FUZZ_TARGET is fsck_fuzz, fsck_fuzz_repair or replay_fuzz" >&2; exit 2 ;;
esac
cmake --build build-fuzz -j2 --target "$target"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# New inputs go to the scratch copy; the committed corpus is only read.
for f in $seeds; do
  if [ -f "$f" ]; then cp "$f" "$work"/; fi
done
mkdir -p build-fuzz/fuzz-crashes
options="-max_total_time=$secs -max_len=262144 -timeout=20 -rss_limit_mb=2048 -print_final_stats=1"
if [ "${FUZZ_SEED:-0}" != 0 ]; then options="$options -seed=$FUZZ_SEED"; fi
if [ "$jobs" -gt 1 ]; then  # logs: build-fuzz/fuzz-N.log
  options="$options -jobs=$jobs -workers=$jobs"
fi
cd build-fuzz
: "${UBSAN_OPTIONS:=print_stacktrace=1}"
export UBSAN_OPTIONS
status=0
# shellcheck disable=SC2086
"$(find tests -name "$target" -type f -perm -u+x | head -1)" $options -artifact_prefix=fuzz-crashes/ "$work" || status=$?
[ "$status" = 0 ] || echo "run.sh: $target failed (exit $status); inputs in build-fuzz/fuzz-crashes/" >&2
exit "$status"
