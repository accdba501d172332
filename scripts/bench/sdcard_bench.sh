#!/bin/sh
# Fast-mode throughput of the emulated card (sdcard/) against plain
# pwrite/pread on a file in the same directory, in the same run.
# Usage: scripts/bench/sdcard_bench.sh [BUILD_DIR] [ROUNDS] [MiB] [PROFILE]
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
rounds=${2:-5}
mib=${3:-256}
profile=${4:-a2}
cmake --build "$build" --target sdcard_bench >/dev/null
dir=$(mktemp -d "$build/sdcard-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT
"$build/tests/sdcard/sdcard_bench" "$dir" "$rounds" "$mib" "$profile"
