#!/usr/bin/env bash
# Issue 16: the journal's commits as a kernel ext4 makes them on mmcblk.
# - An fsync of a new file: its data, then jbd2/mmcblk0-8 writes the log
#   and a commit block with preflush + FUA (RWBS FWFS in the trace), and
#   journal.commits in .cardfs/stat goes up by one.
# - fdatasync of an overwrite that changes no size and no block: the data
#   and a cache flush, no commit.
# - The journal thread commits by itself within commit= seconds.
# - An -O ^journal image works as before: no journal counters, fsync
#   writes home, the data survives a remount, fsck -n is clean.
source "$(dirname "$0")/lib.sh" "$@"

mt_fresh_mount 64
umount_and_remount() { mt_umount "$mnt" && mt_mount "$image" "$mnt" "$@"; }
check "remount with commit=600 (no periodic commit during the test)" umount_and_remount -o commit=600

stat_of() { awk -v k="$2" '$1 == k { print $2 }' "$1/.cardfs/stat"; }
trace_start() { echo "start $MT_TMP/$1" > "$mnt/.cardfs/trace"; }
trace_stop() { echo stop > "$mnt/.cardfs/trace"; "$CARDFS" trace --no-summary "$MT_TMP/$1" > "$MT_TMP/$1.txt"; }
write_fsync() {  # PATH BYTES OFFSET datasync(0|1)
  python3 - "$@" <<'EOF'
import os, sys
path, size, off, datasync = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
os.pwrite(fd, os.urandom(size), off)
(os.fdatasync if datasync else os.fsync)(fd)
os.close(fd)
EOF
}

# Runs a command inside a trace to $MT_TMP/NAME.txt; prints the number of
# journal commits it cost.
run_traced() {
  local name=$1 before; shift
  before=$(stat_of "$mnt" journal.commits)
  trace_start "$name"
  "$@" >&2 || return 1
  trace_stop "$name"
  echo $(($(stat_of "$mnt" journal.commits) - before))
}

# The commit block of an fsync: queued by the journal thread as a
# preflush + write + FUA (+ sync), after the fsync's own data write.
fsync_commits_with_preflush_fua() {
  local n
  n=$(run_traced fsync write_fsync "$mnt/new" 65536 0 0) || return 1
  [ "$n" -eq 1 ] || { echo "$n commits"; return 1; }
  grep -E ' Q +FWFS .*\[jbd2/mmcblk0-8\]' "$MT_TMP/fsync.txt" ||
    { echo "no FWFS commit from jbd2/mmcblk0-8:"; cat "$MT_TMP/fsync.txt"; return 1; }
  # Log blocks as sync writes (WS) from the journal thread, before the commit.
  grep -qE ' Q +WS .*\[jbd2/mmcblk0-8\]' "$MT_TMP/fsync.txt" ||
    { echo "no WS log write from jbd2/mmcblk0-8"; cat "$MT_TMP/fsync.txt"; return 1; }
}

# An overwrite inside the file: no size, no block map change.
fdatasync_overwrite_commits_nothing() {
  local n
  n=$(run_traced fdatasync write_fsync "$mnt/new" 4096 8192 1) || return 1
  [ "$n" -eq 0 ] || { echo "$n commits"; return 1; }
  if grep -E 'jbd2/mmcblk0-8' "$MT_TMP/fdatasync.txt"; then echo "the journal thread wrote"; return 1; fi
  grep -qE ' D +FN ' "$MT_TMP/fdatasync.txt" ||
    { echo "no cache flush:"; cat "$MT_TMP/fdatasync.txt"; return 1; }
}

check "fsync of a new file: a commit with preflush + FUA from jbd2/mmcblk0-8" fsync_commits_with_preflush_fua
check "fdatasync of an overwrite: no commit, a cache flush" fdatasync_overwrite_commits_nothing

# commit=1: a change commits by itself within a few seconds.
periodic_commit() {
  local before i
  before=$(stat_of "$mnt" journal.commits)
  mkdir "$mnt/periodic"
  for i in $(seq 1 50); do
    [ "$(stat_of "$mnt" journal.commits)" -gt "$before" ] && return 0
    sleep 0.1
  done
  echo "no commit 5 s after a mkdir with commit=1"; return 1
}
check "remount with commit=1" umount_and_remount -o commit=1
check "the journal thread commits every commit= seconds" periodic_commit
check "a bad commit= is refused" bash -c "! '$CARDFS' mount '$image' '$MT_TMP/x' -o commit=-1 2>/dev/null"
mt_umount "$mnt"
check "fsck -n is clean after unmount" "$CARDFS" fsck -n "$image"

# -O ^journal: today's ext2-style format, unchanged.
noj=$MT_TMP/noj.img
check "mkfs -O ^journal" "$CARDFS" mkfs -q --profile class10 --size 64M -O ^journal "$noj"
mt_mount "$noj" "$mnt" || mt_pass
check "no journal counters" bash -c "! grep -q '^journal\.' '$mnt/.cardfs/stat'"
check "write and fsync" write_fsync "$mnt/f" 100000 0 0
sum=$(md5sum < "$mnt/f")
mt_umount "$mnt"
mt_mount "$noj" "$mnt" || mt_pass
check "the data after a remount" test "$(md5sum < "$mnt/f")" = "$sum"
mt_umount "$mnt"
check "fsck -n is clean" "$CARDFS" fsck -n "$noj"
mt_pass
