#!/usr/bin/env bash
# `cardfs card export` reports the card's counters: DIR/stat while it runs
# (read-only, a snapshot per open) and the same lines on stdout when it
# exits. The write-amplification study reads ext4-on-the-card through both.
# Usage: card_export_counters.sh PATH/TO/cardfs
set -u
bin=$1
fail=0
tmp=$(mktemp -d)
pid=""
cleanup() {
  if mountpoint -q "$tmp/mnt" 2>/dev/null; then fusermount3 -u "$tmp/mnt" 2>/dev/null || umount -l "$tmp/mnt"; fi
  [ -z "$pid" ] || kill "$pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fail=1; }
# value FILE NAME: the counter NAME in a "name value" file (empty if absent).
value() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }

[ -e /dev/fuse ] || { echo "no /dev/fuse: skipped"; exit 77; }
mkdir "$tmp/mnt"
"$bin" card create "$tmp/e.img" --profile class10 --size 16M >/dev/null || exit 1
timeout 60 "$bin" card export -f "$tmp/e.img" "$tmp/mnt" >"$tmp/report" 2>"$tmp/err" &
pid=$!
for _ in $(seq 100); do [ -e "$tmp/mnt/stat" ] && break; sleep 0.1; done
[ -e "$tmp/mnt/stat" ] || { echo "FAIL: export did not come up: $(cat "$tmp/err")"; exit 1; }

cat "$tmp/mnt/stat" >"$tmp/s0" || bad "read DIR/stat"
[ "$(value "$tmp/s0" card.host_sectors_written)" = 0 ] && ok "fresh card: nothing written" ||
  bad "fresh card reports $(value "$tmp/s0" card.host_sectors_written) sectors written"
# 1 MiB, synchronous: 2048 host sectors reach the card.
head -c 1048576 /dev/urandom >"$tmp/src"
dd if="$tmp/src" of="$tmp/mnt/card" bs=64k oflag=direct,sync conv=notrunc status=none || bad "write"
cat "$tmp/mnt/stat" >"$tmp/s1" || bad "read DIR/stat again"
[ "$(value "$tmp/s1" card.host_sectors_written)" = 2048 ] && ok "DIR/stat counts 2048 sectors written" ||
  bad "DIR/stat: host_sectors_written $(value "$tmp/s1" card.host_sectors_written), expected 2048"
awk -v p="$(value "$tmp/s1" card.flash_bytes_programmed)" 'BEGIN { exit !(p >= 1048576) }' &&
  ok "flash bytes programmed ≥ host bytes" || bad "flash_bytes_programmed $(value "$tmp/s1" card.flash_bytes_programmed)"
awk -v a="$(value "$tmp/s0" card.device_time_ns)" -v b="$(value "$tmp/s1" card.device_time_ns)" \
  'BEGIN { exit !(b > a && a >= 0) }' && ok "device time grows with the write" || bad "device time did not grow"
if echo x 2>/dev/null >"$tmp/mnt/stat"; then bad "DIR/stat took a write"; else ok "DIR/stat is read-only"; fi
ls "$tmp/mnt" | sort | tr '\n' ' ' | grep -qx "card mark stat " && ok "readdir lists card, mark and stat" ||
  bad "readdir: $(ls "$tmp/mnt" | tr '\n' ' ')"

fusermount3 -u "$tmp/mnt" || bad "unmount"
wait "$pid"; rc=$?; pid=""
[ "$rc" = 0 ] && ok "export exits 0" || bad "export exit $rc: $(cat "$tmp/err")"
# The exit report: every counter of DIR/stat, taken after the card's close.
[ "$(cut -d' ' -f1 "$tmp/report")" = "$(cut -d' ' -f1 "$tmp/s1")" ] && ok "exit report has DIR/stat's names" ||
  bad "exit report names differ: $(head -3 "$tmp/report")"
[ "$(value "$tmp/report" card.host_sectors_written)" = 2048 ] && ok "exit report: 2048 sectors written" ||
  bad "exit report: host_sectors_written '$(value "$tmp/report" card.host_sectors_written)'"
awk -v a="$(value "$tmp/s1" card.device_time_ns)" -v b="$(value "$tmp/report" card.device_time_ns)" \
  'BEGIN { exit !(b >= a && a > 0) }' && ok "exit report's device time ≥ the last sample" ||
  bad "exit report device time $(value "$tmp/report" card.device_time_ns) < $(value "$tmp/s1" card.device_time_ns)"
"$bin" card info "$tmp/e.img" | grep -q "(clean)" && ok "image closed cleanly" || bad "image not clean"
exit $fail
