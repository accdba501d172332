#!/bin/sh
# Runs the fsck/inspect libFuzzer target for SECONDS (default 60) from the
# seed corpus, under ASan+UBSan. Builds build-fuzz/ with clang first.
# Crashing inputs land in build-fuzz/fuzz-crashes/ (docs/fsck.md says what
# to do with them). Usage: tests/fsck/fuzz/run.sh [SECONDS [JOBS]]
set -eu
cd "$(dirname "$0")/../../.."
secs=${1:-60}
jobs=${2:-1}
if [ ! -f build-fuzz/CMakeCache.txt ]; then
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCARDFS_FUZZ=ON -DCARDFS_SANITIZE=address >/dev/null
fi
cmake --build build-fuzz -j2 --target fsck_fuzz
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp tests/fsck/fuzz/corpus/*.img "$work"/
mkdir -p build-fuzz/fuzz-crashes
parallel=""
[ "$jobs" -gt 1 ] && parallel="-jobs=$jobs -workers=$jobs"  # logs: build-fuzz/fuzz-N.log
cd build-fuzz
# shellcheck disable=SC2086
exec tests/fsck/fsck_fuzz -max_total_time="$secs" $parallel \
  -max_len=262144 -timeout=20 -rss_limit_mb=2048 \
  -artifact_prefix=fuzz-crashes/ "$work"
