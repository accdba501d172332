#!/usr/bin/env bash
# A damaged flash page reaches the application as EIO (issue 15, item 4:
# damaged pages were served silently): 8 bytes flipped in a file's data in
# the image make `cat` fail with "Input/output error", every time (the bad
# data is not cached as good), the card counts it, other files read as
# written, and fsck names the file instead of calling the image clean.
source "$(dirname "$0")/lib.sh" "$@"

mt_fresh_mount 64
marker="cardfs-damaged-page-marker-$$-$RANDOM"
{ printf '%s' "$marker"; head -c 1048576 /dev/urandom; } >"$MT_TMP/f"
head -c 300000 /dev/urandom >"$MT_TMP/other"
cp "$MT_TMP/f" "$mnt/f"
cp "$MT_TMP/other" "$mnt/other"
mt_umount "$mnt"

offs=$(grep -obUa "$marker" "$image" | cut -d: -f1)
check "the file's data is found in the image" test -n "$offs"
# 800 KB in: far from the start, which the kernel's readahead of the first
# 4 KiB does not reach. Every copy: a merge (the journal's AU makes one
# more AU open at unmount) may have left a stale one before the live one.
for off in $offs; do
  printf 'XXXXXXXX' | dd of="$image" bs=1 seek=$((off + 800000)) conv=notrunc status=none
done

mt_mount "$image" "$mnt" || mt_pass
ecc() { sed -n 's/^card.ecc_errors //p' "$mnt/.cardfs/stat"; }
check "no page read yet" test "$(ecc)" = 0
reads_eio() { ! cat "$mnt/f" >/dev/null 2>"$MT_TMP/err" && grep -q 'Input/output error' "$MT_TMP/err"; }
check "cat of the damaged file fails with EIO" reads_eio
check "and again: the bad page was not cached as good" reads_eio
check "the card counted its failed reads" test "$(ecc)" -ge 2
check "the start of the file reads" cmp -n 4096 "$MT_TMP/f" "$mnt/f"
check "another file reads as written" cmp "$MT_TMP/other" "$mnt/other"
mt_umount "$mnt"

"$CARDFS" fsck -fn "$image" >"$MT_TMP/fsck.txt" 2>&1
rc=$?
cat "$MT_TMP/fsck.txt"
check "fsck -n exits 4 on the unreadable block" test "$rc" = 4
# A 16 KiB flash page holds four 4 KiB blocks.
check "fsck names the file that owns it" grep -q "(/f) has 4 unreadable blocks" "$MT_TMP/fsck.txt"
"$CARDFS" fsck -fy "$image" >"$MT_TMP/fsck-y.txt" 2>&1
rc=$?
check "fsck -y leaves it (exit 4, nothing changed)" test "$rc" = 4
check "fsck -y changed nothing" sh -c "! grep -q 'MODIFIED' '$MT_TMP/fsck-y.txt'"
mt_pass
