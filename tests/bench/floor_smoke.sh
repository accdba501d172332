#!/usr/bin/env bash
# scripts/bench/peers/floor_ll.c, the transport's floor of scripts/bench/run.sh
# (target "floor"): it builds, mounts, keeps names as a filesystem would
# (create, stat, list, unlink, mkdir, rmdir), takes a cp -a of a small tree
# (bytes, modes, owners, times, symlinks, an xattr) that diff -r and stat
# find equal, a chmod by ACL, an rm -rf, and exits when unmounted. Needs
# root (or fusermount3) and libfuse3-dev.
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

# A small tree with what cp -a carries: bytes (one file over a 1 MiB
# write), modes, an owner, times, a symlink, an empty file, an xattr.
make_tree() {
  local t=$1
  mkdir -p "$t/a/b" "$t/empty_dir"
  printf 'hello\n' >"$t/a/hello"
  head -c 3000000 /dev/urandom >"$t/a/b/big"
  : >"$t/a/empty"
  chmod 0640 "$t/a/hello"; chmod 0700 "$t/a/b"
  chown 1234:5678 "$t/a/empty"
  touch -d '2001-02-03 04:05:06.789' "$t/a/b/big"
  ln -s ../hello "$t/a/b/link"
  setfattr -n user.floor -v yes "$t/a/hello" 2>/dev/null || true
}

# A tree's modes, owners, sizes and mtimes, path by path (a directory's
# size is the filesystem's own).
tree_stat() {
  (cd "$1" && { find . ! -type d -printf '%p %M %U %G %s %T@\n'; find . -type d -printf '%p %M %U %G %T@\n'; } | sort)
}

tree_copy() {
  local m=$1 src=$work/src
  make_tree "$src"
  timeout 60 cp -a "$src" "$m/copy" || fail "cp -a into the floor"
  diff -r "$src" "$m/copy" || fail "diff -r finds the copy different"
  [ "$(tree_stat "$src")" = "$(tree_stat "$m/copy")" ] ||
    fail "modes, owners, sizes or times differ: $(diff <(tree_stat "$src") <(tree_stat "$m/copy"))"
  [ "$(readlink "$m/copy/a/b/link")" = ../hello ] || fail "readlink"
  if getfattr -n user.floor "$src/a/hello" >/dev/null 2>&1; then
    [ "$(getfattr --only-values -n user.floor "$m/copy/a/hello" 2>/dev/null)" = yes ] || fail "the xattr was not copied"
  fi
  # An access ACL that says only the mode is a chmod, as on cardfs.
  if command -v setfacl >/dev/null; then
    setfacl -m u::rwx,g::r-x,o::--- "$m/copy/a/hello" || fail "setfacl of a mode-only ACL"
    [ "$(stat -c %a "$m/copy/a/hello")" = 750 ] || fail "the ACL's mode is $(stat -c %a "$m/copy/a/hello")"
    setfacl -m u:1234:r "$m/copy/a/hello" 2>/dev/null && fail "a named-user ACL was taken"
  fi
  timeout 60 rm -rf "$m/copy" || fail "rm -rf"
  [ -z "$(ls "$m")" ] || fail "left after rm -rf: $(ls "$m")"
}
gcc -O2 -Wall -Wextra -Werror -o "$work/floor_ll" "$root"/scripts/bench/peers/floor_{ll,xattr}.c \
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
for i in $(seq 1 300); do rm "$m/d/f$i"; done || fail "unlink"
[ -z "$(ls "$m/d")" ] || fail "names left after unlink: $(ls "$m/d" | head -3)"
rmdir "$m/d" || fail "rmdir"
tree_copy "$m"
fusermount3 -u "$m" || fail "unmount"
for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "floor_ll still running after unmount"
wait "$pid" || fail "floor_ll exited with $?"
pid=""
echo "floor smoke: names kept in memory, a cp -a of a tree equal to its source, the daemon exits when unmounted"
