#!/usr/bin/env bash
# Issue 23, item 4: a 64 GiB card. mkfs discards the card instead of writing
# 1 GiB of zeroed inode tables (they read as zeros after the discard), so
# the fresh filesystem holds a few MiB of the card's pages; it mounts,
# takes a file, and fsck finds it clean. mkfs -F over the used card
# discards the old file's pages too. Sparse image: 64 GiB apparent size,
# about 2 GiB of unwritten host extents (the metadata AUs the card opens).
source "$(dirname "$0")/lib.sh" "$@"

image=$MT_TMP/big.img
mnt=$MT_TMP/mnt
mkdir "$mnt"

# The card's valid pages (16 KiB each) from `cardfs card info`.
valid_pages() { "$CARDFS" card info "$image" | sed -n 's/.*valid pages \([0-9]*\) of.*/\1/p'; }
# mkfs wrote its groups' bitmaps and descriptors, not their inode tables
# (4 Mi inodes of 256 bytes: 65 536 pages): under 16 MiB.
few_pages() { local n; n=$(valid_pages); mt_log "valid pages: $n"; [ -n "$n" ] && [ "$n" -lt 1024 ]; }

check "mkfs of a 64 GiB card" "$CARDFS" mkfs -q --profile uhs1-u3 --size 64G "$image"
check "mkfs wrote no inode tables" few_pages
check "fsck -fn of the fresh filesystem" "$CARDFS" fsck -fn "$image"
mt_mount "$image" "$mnt" || mt_pass
check "write 32 MiB" dd if=/dev/urandom of="$MT_TMP/data" bs=1M count=32 status=none
check "copy it in" cp "$MT_TMP/data" "$mnt/data"
check "and 200 small files" bash -c 'for i in $(seq 200); do echo "$i" >"$0/f$i"; done' "$mnt"
mt_umount "$mnt"
check "fsck -fn after the writes" "$CARDFS" fsck -fn "$image"
mt_mount "$image" "$mnt" || mt_pass
check "the file reads back" cmp "$MT_TMP/data" "$mnt/data"
check "a small file reads back" grep -qx 117 "$mnt/f117"
mt_umount "$mnt"

check "mkfs -F over the used card" "$CARDFS" mkfs -F -q "$image"
check "the old file's pages were discarded" few_pages
check "fsck -fn of the new filesystem" "$CARDFS" fsck -fn "$image"
mt_mount "$image" "$mnt" || mt_pass
check "the new filesystem is empty" bash -c '[ "$(ls "$0")" = lost+found ]' "$mnt"
mt_umount "$mnt"
mt_pass
