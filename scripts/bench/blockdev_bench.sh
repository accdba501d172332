#!/usr/bin/env bash
# Request-queue overhead: bios/s through a zero-cost fake driver with
# tracing off and on, and the cost of a merge lookup with 1, 64 and 4096
# pending requests. Medians of 5 runs, printed by the benchmark itself.
#   scripts/bench/blockdev_bench.sh [BUILD_DIR]
# BUILD_DIR defaults to build-bench, configured as Release when new; an
# existing build directory is used as it is configured.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build-bench}
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build" -j2 --target blockdev_bench >/dev/null
echo "build: $(grep '^CMAKE_BUILD_TYPE' "$build/CMakeCache.txt" | cut -d= -f2), $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg)"
"$build/tests/blockdev/blockdev_bench"
