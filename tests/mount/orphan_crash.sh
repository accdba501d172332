#!/usr/bin/env bash
# Issue 15, item 3: a file unlinked while open came back after a crash.
# Write, fsync, keep it open, unlink, fsync the directory, kill -9 the
# daemon: fsck -y must free it (no /lost+found entry) and its blocks must
# be free again; the next mount of an image left so frees it too.
source "$(dirname "$0")/lib.sh" "$@"

mt_fresh_mount 64
fsync_path() { python3 -c 'import os, sys; fd = os.open(sys.argv[1], os.O_RDONLY); os.fsync(fd)' "$1"; }
free_blocks() { stat -f -c %f "$1"; }

# The issue's sequence; leaves the daemon killed with the file unlinked.
unlinked_while_open_then_crash() {
  dd if=/dev/urandom of="$mnt/secret" bs=1M count=8 status=none conv=fsync || return 1
  exec 3<"$mnt/secret"
  rm "$mnt/secret"
  fsync_path "$mnt"
  mt_kill9 "$mnt"
  exec 3<&-
}

lost_found_empty() {
  local n
  n=$(ls -A "$mnt/lost+found" | wc -l)
  [ "$n" -eq 0 ] || { ls -la "$mnt/lost+found"; return 1; }
}

fsck_y() { "$CARDFS" fsck -y "$image"; [ $? -le 1 ]; }

before=$(free_blocks "$mnt")
check "unlink while open, fsync the directory, kill -9" unlinked_while_open_then_crash
check "fsck -y frees the orphan" fsck_y
check "fsck -n is clean afterwards" "$CARDFS" fsck -n "$image"
mt_mount "$image" "$mnt" || mt_pass
check "no /lost+found entry" lost_found_empty
check "its blocks are free again" test "$(free_blocks "$mnt")" -eq "$before"

# The same crash, then a mount without fsck: the mount frees the orphan.
check "unlink while open, fsync the directory, kill -9 (again)" unlinked_while_open_then_crash
mt_mount "$image" "$mnt" 2>"$MT_TMP/mount.err" || mt_pass
cat "$MT_TMP/mount.err"
# Issue 15, item 10: the daemon's read-only probe said it too.
check "the unclean-stop warning is printed once" \
  test "$(grep -c "not cleanly unmounted" "$MT_TMP/mount.err")" -eq 1
check "the mount freed the orphan: no /lost+found entry" lost_found_empty
check "the mount freed the orphan: its blocks are free" test "$(free_blocks "$mnt")" -eq "$before"
mt_umount "$mnt"
check "fsck -n is clean after the mount's cleanup" "$CARDFS" fsck -n "$image"
mt_pass
