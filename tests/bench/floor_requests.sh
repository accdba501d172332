#!/usr/bin/env bash
# The floor (scripts/bench/peers/floor_ll.c) gets the requests cardfs gets:
# scripts/bench/requests.sh counts, by opcode, what the kernel sends each
# for a cp -a of a small tree, and every count must agree. A change to
# cardfs's capabilities, timeouts or xattr answers that the floor does not
# follow shows here (the floor would then measure another workload).
# Usage: floor_requests.sh CARDFS_BINARY. Needs root (or fusermount3) and libfuse3-dev.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cardfs=$1
command -v gcc >/dev/null && pkg-config --exists fuse3 || { echo "no gcc or libfuse3-dev: skipped"; exit 77; }
[ -e /dev/fuse ] || { echo "no /dev/fuse: skipped"; exit 77; }
work=$(mktemp -d /tmp/cardfs-floor-requests.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
# A tree with what cp -a carries: files of a few sizes, directories,
# symlinks, an empty file, modes.
t=$work/src
for d in a a/b c; do
  mkdir -p "$t/$d"
  for i in $(seq 1 60); do head -c $((i * 997)) /dev/zero >"$t/$d/f$i"; done
done
: >"$t/c/empty"; chmod 0600 "$t/a/f1"; chmod 0700 "$t/a/b"
ln -s ../f2 "$t/a/b/link"; ln -s f3 "$t/c/link"
timeout 300 "$root/scripts/bench/requests.sh" --cardfs "$cardfs" --work "$work" "$t" >"$work/out" ||
  fail "requests.sh failed: $(tail -5 "$work/out")"
cat "$work/out"
# The cp -a table: every row's two counts equal, and the copy did reach both.
rows=$(awk '/^\| cp -a/ {on = 1; next} on && /^$/ {on = 0} on && /^\| [A-Z]/' "$work/out")
[ -n "$rows" ] || fail "no cp -a counts"
echo "$rows" | grep -q '^| CREATE | 181 | 181 |' || fail "not 181 creates each"
diff=$(echo "$rows" | awk -F'|' '$3 + 0 != $4 + 0')
[ -z "$diff" ] || fail "the floor and cardfs got different requests for cp -a: $diff"
echo "floor requests: the floor and cardfs got the same requests for cp -a"
