#!/usr/bin/env bash
# Builds cardfs (build/) and installs it where mount(8), fsck(8) and mkfs(8)
# look (cmake/Install.cmake says what goes where and why):
#   PREFIX/bin/cardfs, PREFIX/sbin/{mkfs,fsck,mount,mount.fuse}.cardfs,
#   HELPER_DIR/mount.fuse.cardfs (and the other mount helpers)
#
#   scripts/install.sh                      PREFIX=/usr/local, HELPER_DIR=/sbin
#   scripts/install.sh --prefix DIR         another prefix
#   scripts/install.sh --helper-dir DIR     mount helpers elsewhere ('' = none)
#   DESTDIR=/tmp/stage scripts/install.sh   stage under a root (packaging, tests)
#   scripts/install.sh --uninstall          removes what the last install wrote
# Installing into system directories needs root (sudo is used when not root).
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=/usr/local
helper_dir=/sbin
uninstall=0
while [ $# -gt 0 ]; do
  case $1 in
    --prefix) prefix=${2:?--prefix needs a directory}; shift ;;
    --prefix=*) prefix=${1#--prefix=} ;;
    --helper-dir) helper_dir=${2?--helper-dir needs a directory}; shift ;;
    --helper-dir=*) helper_dir=${1#--helper-dir=} ;;
    --uninstall) uninstall=1 ;;
    *) echo "install.sh: unknown option '$1' (see the top of scripts/install.sh)" >&2; exit 2 ;;
  esac
  shift
done
SUDO=""
[ "$(id -u)" -ne 0 ] && [ -z "${DESTDIR:-}" ] && SUDO=sudo

if [ "$uninstall" = 1 ]; then
  [ -f build/install_manifest.txt ] || { echo "install.sh: nothing installed from build/" >&2; exit 1; }
  while read -r f || [ -n "$f" ]; do
    echo "removing ${DESTDIR:-}$f"
    $SUDO rm -f "${DESTDIR:-}$f"
  done <build/install_manifest.txt
  exit 0
fi

scripts/build.sh
# The helper directory is a configure-time setting of the install rules.
cmake -S . -B build -DCARDFS_MOUNT_HELPER_DIR="$helper_dir" >/dev/null
$SUDO env DESTDIR="${DESTDIR:-}" cmake --install build --prefix "$prefix"
