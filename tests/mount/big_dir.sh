#!/usr/bin/env bash
# A 100 000-file directory on a real mount: created (open O_CREAT + close),
# listed by ls (count and names), 1 000 random names stat'ed (fixed seed),
# then again on a cold cache after a remount; the image checks clean.
source "$(dirname "$0")/lib.sh" "$@"

count=${MT_BIG_DIR_FILES:-100000}
image=$MT_TMP/card.img
mnt=$MT_TMP/mnt
mkdir "$mnt"
# 512 MiB with an inode per 4 KiB: 131 072 inodes.
check "make image" mt_bounded 300 "$CARDFS" mkfs --profile class10 --size 512M -N 131072 "$image"
mt_mount "$image" "$mnt" || mt_pass

names() { seq -f 'file-%06g' 1 "$count"; }
# 1 000 names picked by a fixed seed (shuf's randomness from a fixed stream).
sample() { names | shuf -n 1000 --random-source=<(yes 20261121); }
stat_sample() {
  local dir=$1 n
  n=$(cd "$dir" && sample | xargs stat -c %n 2>/dev/null | wc -l)
  [ "$n" -eq 1000 ] || { echo "stat found $n of 1000"; return 1; }
}

mkdir "$mnt/big"
start=$SECONDS
create() {  # dir: one open(O_CREAT) and close per name (lookup, create, release)
  (cd "$1" && mt_bounded 240 python3 -c '
import os, sys
for i in range(1, int(sys.argv[1]) + 1):
    os.close(os.open("file-%06d" % i, os.O_CREAT | os.O_WRONLY, 0o644))
' "$count")
}
check "create $count files" create "$mnt/big"
mt_log "created $count files in $((SECONDS - start)) s"
check "ls | wc -l" test "$(ls "$mnt/big" | wc -l)" -eq "$count"
check "ls -f sees . and .. too" test "$(ls -f "$mnt/big" | wc -l)" -eq $((count + 2))
check "the listed names are the created ones" bash -c "diff <(ls '$mnt/big') <(seq -f 'file-%06g' 1 $count) >/dev/null"
check "random stats" stat_sample "$mnt/big"
check "a missing name is ENOENT" sh -c "! stat '$mnt/big/file-x' 2>/dev/null"

mt_umount "$mnt"
mt_mount "$image" "$mnt" || mt_pass
start=$SECONDS
check "cold ls | wc -l after remount" test "$(ls "$mnt/big" | wc -l)" -eq "$count"
check "cold random stats" stat_sample "$mnt/big"
mt_log "cold listing and stats in $((SECONDS - start)) s"
mt_umount "$mnt"
check "fsck -n is clean" "$CARDFS" fsck -n "$image"
mt_pass
