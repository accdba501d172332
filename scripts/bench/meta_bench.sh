#!/usr/bin/env bash
# cardfs's own CPU per create and per unlink (with its FORGET) of 10 000
# files in one directory, in-process: the filesystem's part of a metadata
# request without the FUSE round trip, which on this machine's load is a
# steadier figure than a mount's wall time (issue 23, item 2; medians of 5
# rounds, with and without a journal). tests/fusefs/meta_bench.cpp.
#   scripts/bench/meta_bench.sh [BUILD_DIR]   (default build)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
cmake --build "$build" -j2 --target fusefs_meta_bench >/dev/null
cd "$build" && tests/fusefs/fusefs_meta_bench 2>&1 | grep -A1 'journal:' | grep -v '^--' | sed 's/^ *//' | paste -d' ' - -
