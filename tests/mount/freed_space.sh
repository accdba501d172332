#!/usr/bin/env bash
# Issue 15, item 6: on a full card `rm big; dd ...` got ENOSPC every time;
# the space came back 0.1-0.2 s later (when the kernel's FORGET of the
# unlinked inode arrived). The blocks of a file nobody has open must be
# allocatable when unlink returns (and when truncate returns).
source "$(dirname "$0")/lib.sh" "$@"

rounds=${CARDFS_FREED_SPACE_ROUNDS:-5}
mt_fresh_mount 64

fill() { ! dd if=/dev/zero of="$1" bs=1M status=none 2>/dev/null; }

rm_then_write() {
  fill "$mnt/big" || return 1
  rm "$mnt/big" && dd if=/dev/zero of="$mnt/small" bs=1M count=16 status=none
}

truncate_then_write() {
  fill "$mnt/big" || return 1
  truncate -s 0 "$mnt/big" && dd if=/dev/zero of="$mnt/small" bs=1M count=16 status=none
}

for ((i = 1; i <= rounds; i++)); do
  check "round $i: rm big; dd succeeds at once" rm_then_write
  rm -f "$mnt/small"
  check "round $i: truncate big; dd succeeds at once" truncate_then_write
  rm -f "$mnt/small" "$mnt/big"
done
mt_umount "$mnt"
check "fsck -n is clean" "$CARDFS" fsck -n "$image"
mt_pass
