#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for cardfs and builds it; safe to rerun.
#   scripts/setup.sh                 install packages, build build/, run the demo
#   scripts/setup.sh --no-demo       install and build only
#   scripts/setup.sh --sanitize=address|thread   build build-asan/ or build-tsan/
set -euo pipefail
cd "$(dirname "$0")/.."

demo=1
sanitize=""
for arg in "$@"; do
  case $arg in
    --no-demo) demo=0 ;;
    --sanitize=*) sanitize=${arg#--sanitize=} ;;
    *) echo "setup.sh: unknown option '$arg'" >&2; exit 2 ;;
  esac
done

# Build tools and libraries, then what the tests and benchmarks drive
# (clang and its runtimes: the fsck fuzzer, tests/fsck/fuzz/run.sh).
packages=(
  g++ cmake make pkg-config git
  libfuse3-dev fuse3 liburing-dev libspdlog-dev libcli11-dev catch2 nlohmann-json3-dev uuid-dev libmount-dev libedit-dev
  blktrace fio e2fsprogs fuse2fs sqlite3 util-linux kmod python3 gnuplot-nox
  attr acl stress-ng
  exfat-fuse exfatprogs btrfs-progs xfsprogs python3-jsonschema
  clang libclang-rt-dev
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

scripts/build.sh ${sanitize:+--sanitize=$sanitize}

if [ "$demo" = 1 ] && [ -z "$sanitize" ]; then
  scripts/demo.sh
fi
