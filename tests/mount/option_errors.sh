#!/usr/bin/env bash
# Mistakes at mount time: one clear line, exit 1, nothing mounted, the
# image unchanged. Runs with or without the filesystem layers: every check
# here happens before the image is opened.
source "$(dirname "$0")/lib.sh" "$1"

image=$MT_TMP/card.img
mnt=$MT_TMP/mnt
mkdir "$mnt"
head -c 1M /dev/urandom >"$image"
before=$(md5sum <"$image")

expect_refused() {  # expect_refused "what" "text the error must contain" args...
  local what=$1 text=$2; shift 2
  local err rc
  err=$(mt_bounded 30 "$CARDFS" mount "$@" 2>&1 >/dev/null); rc=$?
  [ $rc -eq 1 ] || { mt_fail "$what: exit $rc, expected 1 ($err)"; return; }
  [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || { mt_fail "$what: not one line: $err"; return; }
  [[ $err == *"$text"* ]] || { mt_fail "$what: '$err' does not say '$text'"; return; }
  mt_is_mounted "$mnt" && { mt_fail "$what: mounted anyway"; return; }
  mt_log "ok: $what: $err"
}

expect_refused "unknown option" "unknown mount option 'bogus'" "$image" "$mnt" -o bogus
expect_refused "unknown option among good ones" "'frob'" "$image" "$mnt" -o ro,frob,cache_size=8M
expect_refused "malformed size" "cache_size" "$image" "$mnt" -o cache_size=big
expect_refused "cache larger than the machine's memory" "more than this machine's memory" \
  "$image" "$mnt" -o cache_size=64T
expect_refused "ratio out of range" "dirty_ratio" "$image" "$mnt" -o dirty_ratio=250
expect_refused "unknown scheduler" "cfq" "$image" "$mnt" -o scheduler=cfq
expect_refused "profile override" "belongs to the image" "$image" "$mnt" -o profile=class4
expect_refused "value on a flag" "takes no value" "$image" "$mnt" -o direct_io=1
expect_refused "missing image" "No such file" "$MT_TMP/none.img" "$mnt"
expect_refused "mount point is a file" "not a directory" "$image" "$image"
expect_refused "missing mount point" "No such file" "$image" "$MT_TMP/nowhere"

# Another daemon holds the image (flock is how cardfs daemons exclude each other).
exec 9<"$image"
flock -x 9
expect_refused "image already mounted" "is in use: held by process" "$image" "$mnt"
exec 9<&-

[ "$(md5sum <"$image")" = "$before" ] && mt_log "ok: image unchanged" || mt_fail "image changed"
mt_pass
