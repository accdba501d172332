#!/usr/bin/env bash
# Request-queue overhead: bios/s through a zero-cost fake driver with
# tracing off and on, and the cost of a merge lookup with 1, 64 and 4096
# pending requests. Medians of 5 runs, printed by the benchmark itself.
#   scripts/bench/blockdev_bench.sh [BUILD_DIR]   (default build-bench)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build-bench}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 --target blockdev_bench >/dev/null
"$build/tests/blockdev/blockdev_bench"
