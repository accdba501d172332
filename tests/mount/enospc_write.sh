#!/usr/bin/env bash
# Issue 15, item 1: a write that cannot allocate returned ENOSPC yet grew
# the file to its offset (pwrite of 64 KiB at 1 MiB into a 4 KiB file on a
# full card left st_size 1 MiB, across remounts, and fsck called it clean),
# and stress-ng --hdd --verify on a small card found "incorrect data".
# In both data modes (default and -o direct_io), buffered and O_DIRECT:
# the failed write changes nothing, a short write counts only what it wrote,
# the sizes survive a remount, fsck is clean, and stress-ng verifies.
source "$(dirname "$0")/lib.sh" "$@"

secs=${MT_STRESS_SECS:-8}
src=$MT_TMP/src
head -c 65536 /dev/urandom >"$src"

size_is() { [ "$(stat -c %s "$1")" = "$2" ] || { echo "$1: size $(stat -c %s "$1"), want $2"; return 1; }; }

# Fills the card: the last dd write fails with ENOSPC.
fill() { ! dd if=/dev/zero of="$1" bs=1M status=none 2>/dev/null; }

# dd of 64 KiB at 1 MiB into a 4 KiB file must fail and change nothing.
failed_write_leaves_size() {  # file [dd flags...]
  local f=$1; shift
  if dd if="$src" of="$f" bs=64K seek=16 count=1 conv=notrunc status=none "$@" 2>/dev/null; then
    echo "the write succeeded on a full card"; return 1
  fi
  size_is "$f" 4096
}

# With 3 blocks free, a 64 KiB write into a new file stores exactly 12 KiB
# (a short write; dd's retry of the rest fails), whose bytes are the source's.
short_write_counts() {  # file fill [dd flags...]
  local f=$1 filler=$2; shift 2
  truncate -s "$(( $(stat -c %s "$filler") / 4096 * 4096 - 3 * 4096 ))" "$filler"
  dd if="$src" of="$f" bs=64K count=1 status=none "$@" 2>/dev/null && { echo "no ENOSPC"; return 1; }
  size_is "$f" 12288 && cmp -n 12288 "$src" "$f" &&
    [ "$(stat -c %b "$f")" = 24 ] || { echo "blocks $(stat -c %b "$f"), want 24"; return 1; }
}

hdd_verify() {  # dir
  mkdir -p "$1"
  local out rc
  out=$(mt_bounded $((secs + 60)) stress-ng --hdd 1 --hdd-bytes 1G --verify --timeout "${secs}s" \
    --temp-path "$1" 2>&1); rc=$?
  printf '%s\n' "$out" | tail -n 3
  [ $rc -eq 0 ] && ! grep -q "incorrect data" <<<"$out"
}

sizes_after_remount() {
  size_is "$mnt/f" 4096 && size_is "$mnt/g" 4096 && size_is "$mnt/h" 12288 && size_is "$mnt/i" 12288
}

for mode in default direct_io; do
  image=$MT_TMP/$mode.img
  mnt=$MT_TMP/mnt-$mode
  mkdir "$mnt"
  opts=()
  [ $mode = direct_io ] && opts=(-o direct_io)
  check "$mode: make image" mt_make_image "$image" 64
  mt_mount "$image" "$mnt" "${opts[@]}" || continue
  head -c 4096 "$src" >"$mnt/f"
  head -c 4096 "$src" >"$mnt/g"
  check "$mode: fill the card" fill "$mnt/fill"
  check "$mode: failed buffered write past EOF leaves the size" failed_write_leaves_size "$mnt/f"
  check "$mode: failed O_DIRECT write past EOF leaves the size" failed_write_leaves_size "$mnt/g" oflag=direct
  check "$mode: a short buffered write counts what it wrote" short_write_counts "$mnt/h" "$mnt/fill"
  check "$mode: a short O_DIRECT write counts what it wrote" short_write_counts "$mnt/i" "$mnt/fill" oflag=direct
  mt_umount "$mnt"
  check "$mode: fsck -n is clean" "$CARDFS" fsck -n "$image"
  mt_mount "$image" "$mnt" "${opts[@]}" || continue
  check "$mode: sizes after remount" sizes_after_remount
  rm -f "$mnt/fill" "$mnt/f" "$mnt/g" "$mnt/h" "$mnt/i"
  check "$mode: stress-ng --hdd 1G --verify on a 64 MiB card" hdd_verify "$mnt/hdd"
  mt_umount "$mnt"
  check "$mode: fsck -n is clean after stress-ng" "$CARDFS" fsck -n "$image"
done
mt_pass
