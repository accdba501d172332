#!/usr/bin/env bash
# Configures (once) and builds cardfs.
#   scripts/build.sh                       build/       RelWithDebInfo
#   scripts/build.sh --sanitize=address    build-asan/  ASan + UBSan
#   scripts/build.sh --sanitize=thread     build-tsan/  TSan
# CARDFS_WERROR=ON in the environment makes g++'s warnings errors (CI);
# ON or OFF is kept in the build directory until given again.
set -euo pipefail
cd "$(dirname "$0")/.."
sanitize=""
for arg in "$@"; do
  case $arg in
    --sanitize=address|--sanitize=thread) sanitize=${arg#--sanitize=} ;;
    *) echo "build.sh: unknown option '$arg' (use --sanitize=address|thread)" >&2; exit 2 ;;
  esac
done
dir=build
[ "$sanitize" = address ] && dir=build-asan
[ "$sanitize" = thread ] && dir=build-tsan
if [ ! -f "$dir/CMakeCache.txt" ] || [ -n "${CARDFS_WERROR:-}" ]; then
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCARDFS_SANITIZE="$sanitize" \
    ${CARDFS_WERROR:+-DCARDFS_WERROR="$CARDFS_WERROR"} >/dev/null
fi
cmake --build "$dir" -j "$(nproc)"
