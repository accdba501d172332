#!/usr/bin/env bash
# Regression: after `cp -a /usr/include MNT/` and `echo 3 >
# /proc/sys/vm/drop_caches` (the kernel forgets its dentries and inodes:
# FORGETs for everything), `du -s MNT` once aborted the daemon and
# `rm -rf MNT/include` answered "Is a directory". Both must work, twice.
source "$(dirname "$0")/lib.sh" "$@"

src=${MT_TREE:-/usr/include}
mt_fresh_mount 1024
pid=$(mt_daemon_pid "$mnt")

drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }
start=$SECONDS
check "cp -a $src" cp -a "$src" "$mnt/"
mt_log "cp -a took $((SECONDS - start)) s"
check "drop_caches" drop_caches
check "du -s after drop_caches" sh -c "du -s '$mnt' >/dev/null"
check "the daemon is alive" kill -0 "$pid"
check "same file count" test "$(find "$src" | wc -l)" -eq "$(find "$mnt/$(basename "$src")" | wc -l)"
check "drop_caches again" drop_caches
check "rm -rf after drop_caches" rm -rf "$mnt/$(basename "$src")"
check "gone" test ! -e "$mnt/$(basename "$src")"
check "the daemon is alive" kill -0 "$pid"
mt_umount "$mnt"
check "fsck -n is clean" "$CARDFS" fsck -n "$image"
mt_pass
