#!/usr/bin/env bash
# A 128 MiB file streamed through filesystem, cache, queue and card (virtual
# clock) on the seed cards: device time, merges, write amplification and
# how often the stream entered an AU. tests/fusefs/au_test.cpp checks the
# same path on small cards; this reports the full size.
#   scripts/bench/au_bench.sh [BUILD_DIR]   (default build)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
cmake --build "$build" -j2 --target fusefs_au_bench >/dev/null
cd "$build" && tests/fusefs/fusefs_au_bench
