#!/usr/bin/env bash
# fallocate's modes against kernel ext4 on loop devices.
#  1. The script tests/fusefs/data/fallocate/modes.script, run on ext4
#     with 4096- and 1024-byte blocks, still prints the recorded
#     transcripts that the in-process test holds cardfs to (a kernel whose
#     ext4 answers otherwise fails here, and the goldens are re-recorded).
#  2. The same fallocate(1) commands on ext4 and on a cardfs mount leave
#     the same size, st_blocks and bytes after each step (files kept under
#     the 10 direct blocks, where cardfs counts no indirect block).
#  3. COLLAPSE_RANGE and INSERT_RANGE on the mount: Linux's FUSE module
#     forwards only KEEP_SIZE, PUNCH_HOLE and ZERO_RANGE, so they are
#     EOPNOTSUPP before the daemon sees them, and the file is unchanged.
#  4. After a remount the bytes are the same and fsck finds nothing.
# Usage: fallocate_ext4.sh CARDFS MAKE_IMAGE FALLOC_SCRIPT
source "$(dirname "$0")/lib.sh" "$@"
FALLOC_SCRIPT=$(readlink -f "$3")
DATA=$(readlink -f "$(dirname "$0")/../fusefs/data/fallocate")
ext4_dirs=()
ext4_cleanup() {
  local d img
  for d in ${ext4_dirs[@]+"${ext4_dirs[@]}"}; do
    img=$d.img
    mountpoint -q "$d" && { umount "$d" 2>/dev/null || umount -l "$d"; }
    # mount -o loop detaches its loop device at umount; one left is freed here.
    losetup -j "$img" -O NAME --noheadings 2>/dev/null | xargs -r -n1 losetup -d
  done
}
trap 'ext4_cleanup; mt_cleanup' EXIT

# mount_ext4 DIR BLOCK_SIZE: a 128 MiB ext4 on a loop device at DIR.
mount_ext4() {
  mkdir -p "$1" && truncate -s 128M "$1.img" && mkfs.ext4 -q -F -b "$2" "$1.img" &&
    ext4_dirs+=("$1") && mt_bounded 60 mount -o loop "$1.img" "$1"
}

# 1. The goldens are what the kernel's ext4 does.
for bs in 4096 1024; do
  dir=$MT_TMP/ext4-$bs
  check "ext4 ($bs-byte blocks) on a loop device" mount_ext4 "$dir" "$bs" || continue
  check "the script on ext4 ($bs) prints modes.$bs.golden" \
    sh -c "'$FALLOC_SCRIPT' '$dir/f' '$DATA/modes.script' $bs | diff -u '$DATA/modes.$bs.golden' -"
done

# 2. fallocate(1) on ext4 and on cardfs, step by step.
mt_fresh_mount 128
head -c 32768 /dev/urandom >"$MT_TMP/seed"
steps=(
  "fallocate -z -o 1000 -l 10000 f"      # zero inside data: partial edges, whole block
  "fallocate -z -o 16384 -l 4096 f"      # one aligned block
  "fallocate -z -n -o 30000 -l 9000 f"   # past EOF, size kept
  "fallocate -z -o 33000 -l 3000 f"      # past EOF, size grows
  "fallocate -p -o 2000 -l 9000 f"       # punch
  "fallocate -n -o 0 -l 40960 f"         # allocate everything, size kept
  "fallocate -z -o 0 -l 40960 f"         # zero all of it
  "fallocate -p -o 0 -l 40960 f"         # punch all of it
  "fallocate -z -o 5000 -l 7000 g"       # zero on an empty file
  "fallocate -z -n -o 100 -l 200 h"      # keep size on an empty file
  "fallocate -l 12288 i"                 # plain allocation
  "fallocate -p -l 4096 i"               # a hole at the start
  "fallocate -z -p -l 4096 i"            # two modes: refused by fallocate(1)
)
# Data blocks in 512-byte units: st_blocks on cardfs (no indirect block
# below 10 blocks); on ext4 the extents' lengths from FIEMAP, as its
# st_blocks also counts an extent block once a file has more than 4 extents.
data_sectors_cardfs() { stat -c %b "$1"; }
data_sectors_ext4() {
  filefrag -v -b4096 "$1" | awk -F: '$1 ~ /^ *[0-9]+$/ { n += $4 } END { print n * 8 }'
}
run_steps() {  # run_steps DIR cardfs|ext4: each step, its exit code, the files' state
  local step out f
  cp "$MT_TMP/seed" "$1/f"
  : >"$1/g"; : >"$1/h"
  for step in "${steps[@]}"; do
    out=$(cd "$1" && eval "$step" 2>&1); echo "$step -> $? $out"
    for f in f g h i; do
      [ -e "$1/$f" ] || continue
      echo "  $f $(stat -c %s "$1/$f") $("data_sectors_$2" "$1/$f") $(md5sum <"$1/$f" | cut -c1-12)"
    done
  done
}
mkdir -p "$MT_TMP/ext4-4096/steps" "$mnt/steps"
run_steps "$MT_TMP/ext4-4096/steps" ext4 >"$MT_TMP/steps.ext4"
run_steps "$mnt/steps" cardfs >"$MT_TMP/steps.cardfs"
check "fallocate(1) steps on cardfs leave what they leave on ext4" \
  diff -u "$MT_TMP/steps.ext4" "$MT_TMP/steps.cardfs"

# 3. Collapse and insert do not get through FUSE.
sum_before=$(md5sum <"$mnt/steps/f")
for flag in -c -i; do
  check "fallocate $flag on the mount: EOPNOTSUPP from Linux's FUSE module" \
    sh -c "fallocate $flag -o 4096 -l 4096 '$mnt/steps/f' 2>&1 | grep -q 'Operation not supported'"
  check "fallocate $flag on ext4 works" fallocate $flag -o 4096 -l 4096 "$MT_TMP/ext4-4096/steps/f"
done
check "the file on the mount is unchanged" test "$(md5sum <"$mnt/steps/f")" = "$sum_before"

# 4. Kept across a remount, and fsck is content.
sums=$(cd "$mnt/steps" && md5sum f g h i)
mt_umount "$mnt"
check "fsck finds nothing" mt_bounded 120 "$CARDFS" fsck -f -n "$image"
mt_mount "$image" "$mnt" || mt_pass
check "the bytes are kept across a remount" test "$(cd "$mnt/steps" && md5sum f g h i)" = "$sums"
mt_umount "$mnt"
mt_pass
