#!/usr/bin/env bash
# `cardfs umount` and umount.fuse.cardfs return only when everything is on
# the card and the daemon has exited (issue 15, item 8: fusermount3 -u
# returned with 300 MB dirty and a copy of the image taken at once missed a
# file). 128 MiB written and not synced, unmounted, the image copied at
# once: the copy checks clean and holds the file, byte for byte.
source "$(dirname "$0")/lib.sh" "$@"

mt_fresh_mount 256
head -c $((128 << 20)) /dev/urandom >"$MT_TMP/big"
mt_log "writing 128 MiB"
cp "$MT_TMP/big" "$mnt/big"
pid=$(mt_daemon_pid "$mnt")
check "cardfs umount" mt_bounded 300 "$CARDFS" umount "$mnt"
mt_forget_mount "$mnt"
# Gone, or a zombie its parent (init) has not reaped yet.
check "the daemon has exited" sh -c "! kill -0 $pid 2>/dev/null || grep -q ') Z' /proc/$pid/stat"
check "and released the image" flock -n -x "$image" true
cp "$image" "$MT_TMP/copy.img"
check "the copy checks clean" "$CARDFS" fsck -fn "$MT_TMP/copy.img"
mkdir "$MT_TMP/copy"
mt_mount "$MT_TMP/copy.img" "$MT_TMP/copy" || mt_pass
check "the copy holds the file, intact" cmp "$MT_TMP/big" "$MT_TMP/copy/big"
mt_umount "$MT_TMP/copy"

# The same through the umount(8) helper's name.
mt_mount "$image" "$mnt" || mt_pass
head -c $((32 << 20)) /dev/urandom >"$MT_TMP/second"
cp "$MT_TMP/second" "$mnt/second"
helper=$(dirname "$CARDFS")/umount.fuse.cardfs
check "umount.fuse.cardfs -n" mt_bounded 300 "$helper" "$mnt" -n
mt_forget_mount "$mnt"
cp "$image" "$MT_TMP/copy2.img"
check "the second copy checks clean" "$CARDFS" fsck -fn "$MT_TMP/copy2.img"
mt_mount "$MT_TMP/copy2.img" "$MT_TMP/copy" || mt_pass
check "and holds both files" sh -c "cmp '$MT_TMP/big' '$MT_TMP/copy/big' && cmp '$MT_TMP/second' '$MT_TMP/copy/second'"
mt_umount "$MT_TMP/copy"

check "a directory that is not mounted is an error" sh -c "! '$CARDFS' umount '$MT_TMP' 2>'$MT_TMP/err'"
check "saying so" grep -q "is not mounted" "$MT_TMP/err"
mt_pass
