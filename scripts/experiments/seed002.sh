#!/usr/bin/env bash
# Seeds 002/003, the on-disk format seen from user space: the 13 block
# pointers (st_blocks counts the indirect block, as ext2's i_blocks does),
# a hole, hard links, sparse superblock backups, a hashed directory of
# 100 000 names, and readahead on a cold 4 KiB read.
#   seed002.sh CARDFS_BINARY
EX_NAME="seed 002"
source "$(dirname "$0")/lib.sh" "${1:-}"
ROWS=("10-block file: no indirect block" "11-block file: one single-indirect block"
  "64 MiB hole + 1 byte" "hard link shares the inode" "superblock backups in sparse groups"
  "random stats in a 100 000-entry directory" "cold 4 KiB read triggers readahead")
ex_need_mount "${ROWS[@]}"
LARGE=${EX_LARGE_DIR:-100000}
FSOPS=$EX_TMP/fsops
g++ -O2 -std=c++20 -o "$FSOPS" "$EX_DIR/../bench/peers/fsops.cpp" || { cf_log "cannot build fsops"; exit 1; }

# 4 GiB: 32 groups of 128 MiB, so the backups reach groups 25 and 27.
CF_MKFS_OUT=$EX_TMP/mkfs.out ex_fresh class10 4G ||
  { ex_fail_step "fresh mount" "mkfs + mount" "see the log"; ex_end; }

blocks_of() { stat -c %b "$1"; }  # 512-byte units, data + indirect blocks

head -c $((10 * 4096)) /dev/urandom >"$MNT/ten"
head -c $((11 * 4096)) /dev/urandom >"$MNT/eleven"
sync "$MNT/ten" "$MNT/eleven"
b10=$(blocks_of "$MNT/ten") b11=$(blocks_of "$MNT/eleven")
ex_check "10-block file: no indirect block" "st_blocks 80 (10 data blocks)" "$b10" ex_eq "$b10" 80
ex_check "11-block file: one single-indirect block" "st_blocks 96 (11 data + 1 indirect)" "$b11" ex_eq "$b11" 96

dd if=/dev/zero of="$MNT/hole" bs=1 count=1 seek=64M status=none && sync "$MNT/hole"
size=$(stat -c %s "$MNT/hole") b=$(blocks_of "$MNT/hole") du_bytes=$(du -B1 "$MNT/hole" | cut -f1)
ex_check "64 MiB hole + 1 byte" "size 67108865; one data block (+ ≤ 2 indirect); du = stat" \
  "size $size, st_blocks $b, du $du_bytes bytes" \
  test "$size" = 67108865 -a "$b" -ge 8 -a "$b" -le 24 -a "$du_bytes" = $((b * 512))

echo data >"$MNT/orig" && ln "$MNT/orig" "$MNT/link"
i1=$(stat -c %i "$MNT/orig") i2=$(stat -c %i "$MNT/link") links=$(stat -c %h "$MNT/orig")
ex_check "hard link shares the inode" "same inode, 2 links" "inodes $i1/$i2, $links links" \
  test "$i1" = "$i2" -a "$links" = 2

# Superblock copies: the block numbers mkfs reports on the line after
# "Superblock backups stored on blocks:", divided by its blocks per group,
# against 1 and the powers of 3, 5 and 7 below the 32 groups of 4 GiB.
groups=$(awk '/blocks per group/ { for (i = 2; i <= NF; i++) if ($i == "blocks" && $(i + 1) == "per") bpg = $(i - 1) }
  take { gsub(/[^0-9]+/, " "); for (i = 1; i <= NF; i++) print int($i / bpg); take = 0 }
  /backups stored on blocks/ { take = 1 }' "$EX_TMP/mkfs.out" | sort -n | uniq | tr '\n' ' ')
ex_check "superblock backups in sparse groups" "groups 1 3 5 7 9 25 27" "groups ${groups:-none in the mkfs report}" \
  ex_eq "$groups" "1 3 5 7 9 25 27 "

# Lookups in a big hashed directory, from a cold cache after a remount.
mkdir "$MNT/big"
if timeout -k 5 1200 "$FSOPS" create "$MNT/big" "$LARGE" >/dev/null && ex_remount; then
  d0=$(ex_counter fs.dir_blocks_read) r0=$(ex_counter card.host_sectors_read)
  timeout -k 5 300 "$FSOPS" randstat "$MNT/big" "$LARGE" 200 20261121 >/dev/null
  d1=$(ex_counter fs.dir_blocks_read) r1=$(ex_counter card.host_sectors_read)
  per_dir=$(awk -v a="$d0" -v b="$d1" 'BEGIN { printf "%.2f", (b - a) / 200 }')
  per_card=$(awk -v a="$r0" -v b="$r1" 'BEGIN { printf "%.2f", (b - a) / 8 / 200 }')
  ex_check "random stats in a $LARGE-entry directory" "≤ 4 directory blocks and ≤ 8 card blocks per stat (cold)" \
    "$per_dir directory blocks, $per_card card blocks per stat" \
    test "$(awk -v d="$per_dir" -v c="$per_card" 'BEGIN { print (d <= 4 && c <= 8) }')" = 1
else
  ex_fail_step "random stats in a $LARGE-entry directory" "a few block reads" "create + remount"
fi

# Readahead: a cold 4 KiB read of a 1 MiB file, with cardfs's cache the only
# one (direct_io), shows RA reads beyond the 8 sectors asked for.
head -c $((1 << 20)) /dev/urandom >"$MNT/ra" && sync "$MNT/ra"
if ex_remount -o direct_io && ex_trace_start ra &&
  timeout -k 5 60 dd if="$MNT/ra" of=/dev/null bs=4k count=1 status=none && ex_trace_stop &&
  TEXT=$(ex_blkparse ra); then
  ra=$($EX_TOOL select "$TEXT" -a C --rwbs 'R[A-Z]*A[A-Z]*' | awk '{ n += $5 } END { print n + 0 }')
  all=$($EX_TOOL select "$TEXT" -a C --rwbs 'R[A-Z]*' | awk '{ n += $5 } END { print n + 0 }')
  ex_check "cold 4 KiB read triggers readahead" "RA completions, > 8 sectors read" \
    "$ra RA sectors of $all read" test "$ra" -gt 0 -a "$all" -gt 8
else
  ex_fail_step "cold 4 KiB read triggers readahead" "RA in the trace" "remount -o direct_io + traced dd"
fi

ex_end
