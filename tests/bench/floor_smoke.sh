#!/usr/bin/env bash
# scripts/bench/peers/floor_ll.c, the metadata floor of scripts/bench/run.sh
# (target "floor"): it builds, mounts, and keeps names as a filesystem
# would — create, stat, list, unlink, mkdir, rmdir, a refused write — and
# exits when unmounted. Needs root (or fusermount3) and libfuse3-dev.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
command -v gcc >/dev/null && pkg-config --exists fuse3 || { echo "no gcc or libfuse3-dev: skipped"; exit 77; }
[ -e /dev/fuse ] || { echo "no /dev/fuse: skipped"; exit 77; }
work=$(mktemp -d /tmp/cardfs-floor.XXXXXX)
pid=""
cleanup() {
  mountpoint -q "$work/mnt" && { fusermount3 -u "$work/mnt" || fusermount3 -uz "$work/mnt"; }
  [ -n "$pid" ] && kill "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
gcc -O2 -Wall -Wextra -Werror -o "$work/floor_ll" "$root/scripts/bench/peers/floor_ll.c" \
  $(pkg-config fuse3 --cflags --libs) || fail "floor_ll.c does not build"
mkdir "$work/mnt"
"$work/floor_ll" -f "$work/mnt" >"$work/log" 2>&1 &
pid=$!
for ((i = 0; i < 100; i++)); do mountpoint -q "$work/mnt" && break; sleep 0.1; done
mountpoint -q "$work/mnt" || fail "not mounted: $(cat "$work/log")"
m=$work/mnt
mkdir "$m/d" && for i in $(seq 1 300); do : >"$m/d/f$i"; done || fail "create"
[ "$(ls "$m/d" | wc -l)" = 300 ] || fail "ls shows $(ls "$m/d" | wc -l) names, not 300"
[ -f "$m/d/f150" ] && [ ! -e "$m/d/f301" ] || fail "stat"
rmdir "$m/d" 2>/dev/null && fail "rmdir of a non-empty directory succeeded"
echo x >"$m/d/f1" 2>/dev/null && fail "a write succeeded on a floor that keeps no data"
for i in $(seq 1 300); do rm "$m/d/f$i"; done || fail "unlink"
[ -z "$(ls "$m/d")" ] || fail "names left after unlink: $(ls "$m/d" | head -3)"
rmdir "$m/d" || fail "rmdir"
fusermount3 -u "$m" || fail "unmount"
for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "floor_ll still running after unmount"
wait "$pid" || fail "floor_ll exited with $?"
pid=""
echo "floor smoke: names kept in memory, the daemon exits when unmounted"
