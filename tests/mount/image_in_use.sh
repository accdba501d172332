#!/usr/bin/env bash
# Tools that write a card image refuse one a daemon serves, naming the mount
# point (issue 15, item 2: `mkfs.cardfs -F` destroyed a mounted image and
# `cardfs card export` opened it read-write): mkfs -F, card export,
# fsck -y/-p and inspect --write. The image is untouched afterwards.
source "$(dirname "$0")/lib.sh" "$@"

mt_fresh_mount 64
echo "still here" >"$mnt/keep"
sync -f "$mnt/keep"
refused() {  # refused WHAT COMMAND...: exits non-zero naming the mount point
  local what=$1; shift
  if "$@" >"$MT_TMP/out" 2>&1; then mt_fail "$what ran on a mounted image"; cat "$MT_TMP/out"; return; fi
  if grep -q "mounted on $mnt" "$MT_TMP/out"; then mt_log "ok: $what refused"; else
    mt_fail "$what: message does not name $mnt"; cat "$MT_TMP/out"; fi
}
ln -s "$CARDFS" "$MT_TMP/mkfs.cardfs"
refused "mkfs.cardfs -F" mt_bounded 30 "$MT_TMP/mkfs.cardfs" -F -q "$image"
mkdir "$MT_TMP/exp"
refused "cardfs card export" mt_bounded 30 "$CARDFS" card export "$image" "$MT_TMP/exp"
refused "fsck -y" mt_bounded 30 "$CARDFS" fsck -fy "$image"
refused "fsck -p" mt_bounded 30 "$CARDFS" fsck -p "$image"
refused "inspect --write" mt_bounded 30 "$CARDFS" inspect --write --yes "$image" set_inode_field 11 uid 7
check "the mounted filesystem is intact" test "$(cat "$mnt/keep")" = "still here"
mt_umount "$mnt"
check "fsck finds it clean" "$CARDFS" fsck -fn "$image"
mt_mount "$image" "$mnt" || mt_pass
check "the file is still there" test "$(cat "$mnt/keep")" = "still here"
mt_umount "$mnt"
mt_pass
