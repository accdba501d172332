#!/usr/bin/env bash
# Clang's thread-safety analysis over the layers whose locks carry
# annotations (base/thread_annotations.h): every .cpp of base/, blockdev/,
# sdcard/, cache/ and fusefs/ (not fusefs/fuse/), or the files given,
# compiled with -fsyntax-only -Wthread-safety -Werror. Needs clang++ and a
# configured build/ (scripts/build.sh) for its generated headers.
# The fuzz build of .ci/run compiles the same libraries with the same
# flags; this is the quick local check.
#   scripts/thread_safety.sh [FILE.cpp...]
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v clang++ >/dev/null; then
  echo "thread_safety.sh: clang++ not found (scripts/setup.sh installs clang)" >&2
  exit 2
fi
if [ ! -d build/generated ]; then
  echo "thread_safety.sh: run scripts/build.sh first (build/generated)" >&2
  exit 2
fi
if [ $# -eq 0 ]; then
  set -- base/*.cpp blockdev/*.cpp sdcard/*.cpp cache/*.cpp fusefs/*.cpp
fi
failed=0
for f in "$@"; do
  if ! clang++ -std=c++20 -fsyntax-only -Wthread-safety -Werror=thread-safety \
      -DSPDLOG_COMPILED_LIB -DSPDLOG_FMT_EXTERNAL -DSPDLOG_SHARED_LIB -DFMT_SHARED \
      -I. -Ibuild/generated -isystem /usr/include/blkid -isystem /usr/include/libmount \
      -isystem /usr/include/uuid "$f"; then
    failed=1
  fi
done
if [ $failed -ne 0 ]; then
  echo "thread_safety.sh: clang's thread-safety analysis failed" >&2
  exit 1
fi
echo "thread_safety.sh: $# files clean"
