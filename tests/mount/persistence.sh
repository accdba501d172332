#!/usr/bin/env bash
# What survives: a clean unmount and remount keeps every name, mode, owner,
# time, link and byte; SIGTERM unmounts cleanly too; after kill -9 of the
# daemon, what was fsync'd is there on the next mount.
source "$(dirname "$0")/lib.sh" "$@"

mt_fresh_mount 256

# A little of everything.
mkdir -p "$mnt/d/e"
head -c 3000000 /dev/urandom >"$mnt/d/random"
printf 'small' >"$mnt/d/e/small"
truncate -s 50M "$mnt/sparse"; printf x | dd of="$mnt/sparse" bs=1 seek=30000000 conv=notrunc status=none
ln "$mnt/d/random" "$mnt/d/e/hard"
ln -s ../d/random "$mnt/d/e/soft"
mkfifo "$mnt/fifo"
chmod 4751 "$mnt/d/e/small"; chown 42:43 "$mnt/d/e/small"
chmod 1777 "$mnt/d/e"
touch -d "1999-12-31 23:59:59.123456789" "$mnt/d/random"
listing() {  # name type mode uid gid links size mtime (ns) target
  (cd "$1" && find . -printf '%p %y %m %U %G %n %s %T@ %l\n' | sort)
}
sums() { (cd "$1" && find . -type f -exec md5sum {} + | sort -k2); }
before=$(listing "$mnt"); before_sums=$(sums "$mnt")
mt_umount "$mnt"
mt_mount "$image" "$mnt" || mt_pass
check "names, modes, owners, times, links survive remount" test "$(listing "$mnt")" = "$before"
check "contents survive remount" test "$(sums "$mnt")" = "$before_sums"

# SIGTERM: the daemon writes everything back and unmounts.
echo "after term" >"$mnt/termfile"
kill -TERM "$(mt_daemon_pid "$mnt")"
check "SIGTERM releases the image" mt_wait_unlocked "$image" 60
check "SIGTERM unmounted" sh -c "! grep -q ' $mnt ' /proc/self/mounts"
mt_forget_mount "$mnt"
mt_mount "$image" "$mnt" || mt_pass
check "data written before SIGTERM is there" test "$(cat "$mnt/termfile")" = "after term"

# kill -9 after fsync: the fsync'd file must be complete after remount.
head -c 5000000 /dev/urandom >"$MT_TMP/synced"
check "write + fsync" dd if="$MT_TMP/synced" of="$mnt/synced" bs=1M conv=fsync status=none
mt_kill9 "$mnt"
check "image released after kill -9" mt_wait_unlocked "$image" 30
mt_mount "$image" "$mnt" || mt_pass
check "fsync'd data survives kill -9" cmp "$MT_TMP/synced" "$mnt/synced"
mt_umount "$mnt"
mt_pass
