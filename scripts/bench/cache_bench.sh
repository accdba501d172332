#!/usr/bin/env bash
# Page cache overhead: cached 4 KiB read/write operations per second with
# 1 and 2 threads, and sequential read/write bandwidth against a
# zero-latency in-memory device, each as a ratio to memcpy of the same
# bytes in the same run. Medians of 5 runs, printed by the benchmark.
#   scripts/bench/cache_bench.sh [BUILD_DIR]   (default build-bench)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build-bench}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 --target cache_bench >/dev/null
"$build/tests/cache/cache_bench"
