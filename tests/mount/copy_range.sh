#!/usr/bin/env bash
# copy_file_range(2) on the mount: whole files (cp), ranges at offsets,
# a short copy at the source's end, a copy into a hole and past the
# destination's end, and what the kernel cached of the destination is
# replaced by the new bytes.
source "$(dirname "$0")/lib.sh" "$@"

mt_fresh_mount 128

head -c 5000000 /dev/urandom >"$mnt/src"
check "cp (coreutils uses copy_file_range)" cp "$mnt/src" "$mnt/dst"
check "cp copied every byte" cmp "$mnt/src" "$mnt/dst"

# copy src[off_in, off_in+len) to dst at off_out; prints the count copied.
copy_range() {
  python3 - "$@" <<'PY'
import os, sys
src, dst, off_in, off_out, length = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:])
fi = os.open(src, os.O_RDONLY); fo = os.open(dst, os.O_WRONLY | os.O_CREAT, 0o644)
total = 0
while total < length:
    n = os.copy_file_range(fi, fo, length - total, off_in + total, off_out + total)
    if n == 0: break
    total += n
print(total)
PY
}
expected() {  # the same copy done by dd outside the mount
  local src=$1 dst=$2 off_in=$3 off_out=$4 len=$5
  dd if="$src" of="$dst" bs=1 skip="$off_in" seek="$off_out" count="$len" conv=notrunc status=none \
    iflag=skip_bytes,count_bytes oflag=seek_bytes
}
cp "$mnt/src" "$MT_TMP/src"
printf 'x%.0s' $(seq 1 100) >"$mnt/target"
cp "$mnt/target" "$MT_TMP/target"
cat "$mnt/target" >/dev/null  # the kernel now caches the old bytes
check "a range at odd offsets" test "$(copy_range "$mnt/src" "$mnt/target" 12345 7 300001)" = 300001
expected "$MT_TMP/src" "$MT_TMP/target" 12345 7 300001
check "the range landed (through the kernel's cache)" cmp "$mnt/target" "$MT_TMP/target"
check "a short copy at the source's end" test "$(copy_range "$mnt/src" "$mnt/target" 4999000 0 5000)" = 1000
expected "$MT_TMP/src" "$MT_TMP/target" 4999000 0 1000
check "short copy bytes" cmp "$mnt/target" "$MT_TMP/target"
truncate -s 10M "$mnt/holey"; truncate -s 10M "$MT_TMP/holey"
check "into a hole and past the end" test "$(copy_range "$mnt/src" "$mnt/holey" 0 9000000 2000000)" = 2000000
expected "$MT_TMP/src" "$MT_TMP/holey" 0 9000000 2000000
check "size grew to the copy's end" test "$(stat -c %s "$mnt/holey")" = 11000000
check "hole copy bytes" cmp "$mnt/holey" "$MT_TMP/holey"
mt_umount "$mnt"
mt_mount "$image" "$mnt" || mt_pass
check "copies survive remount" sh -c "cmp '$mnt/dst' '$MT_TMP/src' && cmp '$mnt/target' '$MT_TMP/target' && cmp '$mnt/holey' '$MT_TMP/holey'"
mt_umount "$mnt"
mt_pass
