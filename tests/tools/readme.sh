#!/usr/bin/env bash
# The README's "Using it" block runs literally as written, as root, from a
# checkout whose build/ is this build: every line must succeed (bash -e).
# It runs in a private mount namespace with a tmpfs over /mnt, so its
# /mnt/card and /mnt/raw are the test's own; whatever is still mounted
# there at the end (a failed line) is unmounted, and a daemon still
# holding the image is killed. Usage: readme.sh BUILD_DIR SOURCE_DIR
set -u
build=$(readlink -f "$1")
src=$(readlink -f "$2")
[ "$(id -u)" = 0 ] && [ -e /dev/fuse ] || { echo "needs root and /dev/fuse: skipped"; exit 77; }
tmp=$(mktemp -d /tmp/cardfs-readme.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# The first ```sh block after "## Using it".
awk '/^## Using it/ { s = 1 } s && /^```sh$/ { b = 1; next } b && /^```$/ { exit } b' \
  "$src/README.md" >"$tmp/block.sh"
[ -s "$tmp/block.sh" ] || { echo "FAIL: no sh block under '## Using it' in README.md"; exit 1; }
mkdir "$tmp/checkout"
ln -s "$build" "$tmp/checkout/build"

inside() {
  local rc holder
  mount -t tmpfs -o size=64m tmpfs /mnt || return 99
  cd "$tmp/checkout" || return 99
  timeout -k 5 240 bash -e -x "$tmp/block.sh" </dev/null
  rc=$?
  for m in $(awk '$2 ~ "^/mnt/" && $3 ~ "^fuse" { print $2 }' /proc/self/mounts); do
    echo "left mounted by the block: $m"; rc=1
    timeout 30 fusermount3 -u "$m" || umount -l "$m"
  done
  return $rc
}
export -f inside
export tmp
timeout -k 5 300 unshare -m --propagation private bash -c inside
rc=$?
# Daemons that still hold the block's image after their mounts went.
for p in /proc/[0-9]*; do
  if ls -l "$p/fd" 2>/dev/null | grep -q " $tmp/checkout/card.img$"; then
    for _ in $(seq 100); do kill -0 "${p#/proc/}" 2>/dev/null || break; sleep 0.1; done
    kill -9 "${p#/proc/}" 2>/dev/null && { echo "FAIL: killed daemon ${p#/proc/}"; rc=1; }
  fi
done
[ "$rc" = 0 ] && echo "the README's block ran as written" || echo "FAIL: the README's block (exit $rc)"
exit "$rc"
