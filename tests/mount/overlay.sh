#!/usr/bin/env bash
# overlayfs with its upper and work directories on cardfs (a read-only
# lower elsewhere, as a Raspberry Pi's read-only root with a writable
# overlay on the SD card): overlayfs needs RENAME_WHITEOUT and trusted.*
# xattrs from its upper. Writing, deleting a lower file (a whiteout, a
# 0/0 character device, appears in upper), renaming a lower file (a
# whiteout at the old name), all seen through the overlay and kept on the
# card across a remount. The overlay is unmounted on any exit, before the
# cardfs under it.
source "$(dirname "$0")/lib.sh" "$@"
mt_fresh_mount 64
lower=$MT_TMP/lower
ovl=$MT_TMP/ovl
mkdir -p "$lower/dir" "$ovl" "$mnt/upper" "$mnt/work"
echo one >"$lower/a"; echo two >"$lower/b"; echo three >"$lower/dir/c"
trap 'mountpoint -q "$ovl" && umount -l "$ovl"; mt_cleanup' EXIT

wh() { [ "$(stat -c '%F %t:%T' "$1" 2>/dev/null)" = "character special file 0:0" ]; }
check "renameat2(RENAME_WHITEOUT) through the mount" python3 -c "
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
open('$mnt/src', 'w').write('x')
if libc.renameat2(-100, b'$mnt/src', -100, b'$mnt/dst', 4) != 0:
    raise SystemExit(os.strerror(ctypes.get_errno()))"
check "the whiteout is a 0/0 character device" wh "$mnt/src"
check "the file moved" test "$(cat "$mnt/dst")" = x
check "mount overlayfs with upper and work on cardfs" mt_bounded 30 \
  mount -t overlay overlay -o "lowerdir=$lower,upperdir=$mnt/upper,workdir=$mnt/work" "$ovl"
if mountpoint -q "$ovl"; then
  check "reads the lower" test "$(cat "$ovl/a")" = one
  check "writes go to upper" sh -c "echo new >'$ovl/n' && test \"\$(cat '$mnt/upper/n')\" = new"
  check "copy-up of a lower file" sh -c "echo more >>'$ovl/b' && test \"\$(cat '$mnt/upper/b')\" = 'two
more'"
  check "delete a lower file" rm "$ovl/a"
  check "gone from the overlay" test ! -e "$ovl/a"
  check "a whiteout in upper" wh "$mnt/upper/a"
  check "rename a lower file" mv "$ovl/dir/c" "$ovl/c2"
  check "renamed in the overlay" test "$(cat "$ovl/c2")" = three
  check "a whiteout at the old name" wh "$mnt/upper/dir/c"
  check "unmount the overlay" mt_bounded 30 umount "$ovl"
fi
mt_umount "$mnt"
mt_mount "$image" "$mnt" || mt_pass
check "whiteouts kept on the card" sh -c "$(declare -f wh); wh '$mnt/upper/a' && wh '$mnt/upper/dir/c'"
check "the overlay mounts again" mt_bounded 30 \
  mount -t overlay overlay -o "lowerdir=$lower,upperdir=$mnt/upper,workdir=$mnt/work" "$ovl"
if mountpoint -q "$ovl"; then
  check "and shows the same tree" test "$(cd "$ovl" && find . | sort | tr '\n' ' ')" = ". ./b ./c2 ./dir ./n "
  check "unmount the overlay again" mt_bounded 30 umount "$ovl"
fi
mt_umount "$mnt"
check "fsck is clean" mt_bounded 120 "$CARDFS" fsck -n "$image"
mt_pass
