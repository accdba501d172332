#!/usr/bin/env bash
# Images that must not be mounted: one already mounted, one that is not a
# card image, one whose filesystem is damaged. Each: one clear line, exit 1,
# nothing mounted, the image unchanged.
source "$(dirname "$0")/lib.sh" "$@"

image=$MT_TMP/card.img
mnt=$MT_TMP/mnt
mnt2=$MT_TMP/mnt2
mkdir "$mnt" "$mnt2"
check "make image" mt_make_image "$image" 128

refused() {  # refused "what" "text" image: mount must fail and change nothing
  local what=$1 text=$2 img=$3 err rc before
  before=$(md5sum <"$img")
  err=$(mt_bounded 60 "$CARDFS" mount "$img" "$mnt2" 2>&1 >/dev/null); rc=$?
  [ $rc -eq 1 ] || { mt_fail "$what: exit $rc ($err)"; return; }
  [[ $err == *"$text"* ]] || { mt_fail "$what: '$err' does not say '$text'"; return; }
  grep -q " $mnt2 " /proc/self/mounts && { mt_fail "$what: mounted anyway"; return; }
  [ "$(md5sum <"$img")" = "$before" ] || { mt_fail "$what: image changed"; return; }
  mt_log "ok: $what: $(printf '%s' "$err" | tail -1)"
}

mt_mount "$image" "$mnt" || mt_pass
refused "an image already mounted" "is in use: mounted on $mnt" "$image"
mt_umount "$mnt"

head -c 64M /dev/zero >"$MT_TMP/zero.img"
refused "not a card image" "not a usable card image" "$MT_TMP/zero.img"

# Damage the filesystem's superblock through the raw card (card export
# serves it as DIR/card until unmounted).
cp "$image" "$MT_TMP/bad.img"
mkdir "$MT_TMP/raw"
mt_bounded 60 "$CARDFS" card export -f "$MT_TMP/bad.img" "$MT_TMP/raw" &
exporter=$!
for _ in $(seq 100); do [ -e "$MT_TMP/raw/card" ] && break; sleep 0.1; done
if [ -e "$MT_TMP/raw/card" ]; then
  dd if=/dev/urandom of="$MT_TMP/raw/card" bs=1024 seek=1 count=1 conv=notrunc,fsync status=none
  mt_bounded 30 fusermount3 -u "$MT_TMP/raw"
  wait "$exporter"
  refused "a damaged filesystem" "fsck.cardfs" "$MT_TMP/bad.img"
else
  mt_fail "cannot export the raw card to damage it"
  kill "$exporter" 2>/dev/null; fusermount3 -uz "$MT_TMP/raw" 2>/dev/null
fi
mt_pass
