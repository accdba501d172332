#!/usr/bin/env bash
# `cardfs card` as a user meets it: create/info/profiles, one-line errors
# with exit 1 for bad input, images untouched by a failed command; with
# --export, also the FUSE export (O_DIRECT|O_SYNC writes read back).
# Usage: card_cli.sh PATH/TO/cardfs [--export]
set -u
bin=$1
fail=0
tmp=$(mktemp -d)
cleanup() {
  if mountpoint -q "$tmp/mnt" 2>/dev/null; then fusermount3 -u "$tmp/mnt" 2>/dev/null || umount -l "$tmp/mnt"; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
check() {  # check DESCRIPTION EXPECTED_RC ACTUAL_RC
  if [ "$2" != "$3" ]; then echo "FAIL: $1 (exit $3, expected $2)"; fail=1; else echo "ok: $1"; fi
}
one_line_error() {  # one_line_error FILE WORDS
  [ "$(wc -l <"$1")" -eq 1 ] || { echo "FAIL: error is not one line:"; cat "$1"; fail=1; }
  grep -q "$2" "$1" || { echo "FAIL: error lacks '$2':"; cat "$1"; fail=1; }
}

if [ "${2:-}" != "--export" ]; then
  "$bin" card profiles >"$tmp/p"; check "profiles" 0 $?
  for p in class2 class4 class6 class10 uhs1-u3 a1 a2 seed-class10 seed-class4 industrial-pslc; do
    grep -q "^$p " "$tmp/p" || { echo "FAIL: profile $p not listed"; fail=1; }
  done
  "$bin" card create "$tmp/a.img" --profile class4 --size 16M >/dev/null; check "create" 0 $?
  "$bin" card info "$tmp/a.img" >"$tmp/info"; check "info" 0 $?
  grep -q "AU_SIZE .* 4 MiB" "$tmp/info" || { echo "FAIL: info lacks AU_SIZE"; fail=1; }
  # Issue 22 item 6: TAAC and TRAN_SPEED decoded; the wear's spread and scaled bars.
  grep -q "TAAC .* read access time 1 ms" "$tmp/info" || { echo "FAIL: TAAC not decoded"; fail=1; }
  grep -q "TRAN_SPEED .* Mbit/s per data line" "$tmp/info" || { echo "FAIL: TRAN_SPEED not decoded"; fail=1; }
  grep -q "^wear  *erase counts min 0, mean 0.00, max 0 over [0-9]* AUs" "$tmp/info" ||
    { echo "FAIL: wear lacks min/mean/max"; cat "$tmp/info"; fail=1; }
  grep -qE "^ +0 +[0-9]+ #{50}$" "$tmp/info" || { echo "FAIL: the fullest range's bar is not 50 wide"; fail=1; }
  "$bin" card info --json "$tmp/a.img" | python3 -c 'import json,sys; w=json.load(sys.stdin)["wear"]
assert w["min_erase_count"]==0 and w["max_erase_count"]==0 and w["histogram"][0]["first"]==0, w'
  check "info --json: wear" 0 $?
  "$bin" card info --json "$tmp/a.img" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["profile"]=="class4"'
  check "info --json parses" 0 $?
  grep -q "life time estimate 0x01: 0-10 % .*SD has no standard health register" "$tmp/info" ||
    { echo "FAIL: info lacks the health section"; fail=1; }
  "$bin" card info --json "$tmp/a.img" | python3 -c 'import json,sys; d=json.load(sys.stdin); h=d["health"]
assert h["life_time_est"]==1 and h["rated_pe_cycles"]==1000 and h["nand"]=="TLC", h
assert d["lifetime"]["power_cycles"]==1 and d["lifetime"]["unclean_shutdowns"]==0, d["lifetime"]'
  check "info --json: health and lifetime" 0 $?
  sum=$(md5sum <"$tmp/a.img")
  "$bin" card create "$tmp/a.img" --size 16M 2>"$tmp/err"; check "create over an existing file" 1 $?
  one_line_error "$tmp/err" "exists"
  [ "$(md5sum <"$tmp/a.img")" = "$sum" ] || { echo "FAIL: image changed"; fail=1; }
  "$bin" card create "$tmp/b.img" --profile class99 --size 16M 2>"$tmp/err"; check "unknown profile" 1 $?
  one_line_error "$tmp/err" "unknown profile"
  "$bin" card create "$tmp/b.img" --size 15M 2>"$tmp/err"; check "size not a multiple of the AU" 1 $?
  one_line_error "$tmp/err" "multiple of the AU"
  [ ! -e "$tmp/b.img" ] || { echo "FAIL: failed create left a file"; fail=1; }
  "$bin" card info "$tmp/none.img" 2>"$tmp/err"; check "missing image" 1 $?
  one_line_error "$tmp/err" "No such file"
  head -c 100000 "$tmp/a.img" >"$tmp/t.img"
  "$bin" card info "$tmp/t.img" 2>"$tmp/err"; check "truncated image" 1 $?
  one_line_error "$tmp/err" "truncated"
  # Its header and the backup copy in its last 4 KiB (one alone is recovered).
  cp "$tmp/a.img" "$tmp/m.img"; printf 'XXXXXXXX' | dd of="$tmp/m.img" conv=notrunc 2>/dev/null
  printf 'XXXXXXXX' | dd of="$tmp/m.img" bs=1 seek=$(($(stat -c %s "$tmp/m.img") - 4096)) conv=notrunc 2>/dev/null
  sum=$(md5sum <"$tmp/m.img")
  "$bin" card export "$tmp/m.img" "$tmp" 2>"$tmp/err"; check "export of a foreign image" 1 $?
  one_line_error "$tmp/err" "bad magic"
  [ "$(md5sum <"$tmp/m.img")" = "$sum" ] || { echo "FAIL: image changed"; fail=1; }
  # card repair (issue 15, item 5): 16 bytes of the header, then 4 KiB cut off.
  cp "$tmp/a.img" "$tmp/r.img"; printf 'XXXXXXXXXXXXXXXX' | dd of="$tmp/r.img" bs=1 seek=12 conv=notrunc 2>/dev/null
  "$bin" card repair "$tmp/r.img" >"$tmp/out" 2>&1; check "repair of a damaged header" 0 $?
  grep -q "rewritten from its backup copy" "$tmp/out" || { echo "FAIL: repair says:"; cat "$tmp/out"; fail=1; }
  truncate -s -5 "$tmp/r.img"
  "$bin" card info "$tmp/r.img" 2>"$tmp/err"; check "info of a short image" 1 $?
  one_line_error "$tmp/err" "card repair"
  "$bin" card repair "$tmp/r.img" >"$tmp/out" 2>&1; check "repair of a short image" 0 $?
  grep -q "5 bytes short" "$tmp/out" || { echo "FAIL: repair says:"; cat "$tmp/out"; fail=1; }
  "$bin" card info "$tmp/r.img" >/dev/null; check "info after repair" 0 $?
  "$bin" card repair "$tmp/r.img" >"$tmp/out" 2>&1; check "repair of a sound image" 0 $?
  grep -q "nothing to repair" "$tmp/out" || { echo "FAIL: repair says:"; cat "$tmp/out"; fail=1; }
  # Issue 22: the power-on scan's bar on a terminal (script(1)'s pty), none
  # on a pipe; a missing DIR / no filesystem fail after the scan, unmounted.
  scan_bar="a.img (power-on scan): |=*| 100.0%"
  # An export that cannot mount fails, says why, and prints no counters
  # (it printed a report of zeros after the error, as if it had run).
  for fg in "" -f; do
    "$bin" card export $fg "$tmp/a.img" "$tmp/no-such-dir" >"$tmp/out" 2>"$tmp/err"
    check "card export $fg onto a missing DIR fails" 1 $?
    [ ! -s "$tmp/out" ] || { echo "FAIL: card export $fg printed on stdout:"; cat "$tmp/out"; fail=1; }
    grep -q "^cardfs card export: mounting on $tmp/no-such-dir failed" "$tmp/err" ||
      { echo "FAIL: card export $fg says:"; cat "$tmp/err"; fail=1; }
  done
  "$bin" card export "$tmp/a.img" "$tmp/no-such-dir" >"$tmp/out" 2>&1
  "$bin" mount "$tmp/a.img" "$tmp" >>"$tmp/out" 2>&1
  ! grep -q "power-on scan" "$tmp/out"; check "no scan progress on a pipe" 0 $?
  script -qec "$bin card export $tmp/a.img $tmp/no-such-dir" /dev/null </dev/null >"$tmp/tty" 2>&1
  grep -q "$scan_bar" "$tmp/tty"; check "card export draws the scan's bar on a terminal" 0 $?
  script -qec "$bin mount $tmp/a.img $tmp" /dev/null </dev/null >"$tmp/tty" 2>&1
  grep -q "$scan_bar" "$tmp/tty" && grep -q "no mountable cardfs" "$tmp/tty"
  check "mount draws the scan's bar on a terminal" 0 $?
  exit $fail
fi

# --export: a real FUSE mount, always unmounted, every wait bounded.
[ -e /dev/fuse ] || { echo "no /dev/fuse: skipped"; exit 0; }
mkdir "$tmp/mnt"
"$bin" card create "$tmp/e.img" --profile class10 --size 16M >/dev/null || exit 1
timeout 60 "$bin" card export -f "$tmp/e.img" "$tmp/mnt" --trace "$tmp/t" >"$tmp/counters" &
pid=$!
for _ in $(seq 50); do [ -e "$tmp/mnt/card" ] && break; sleep 0.1; done
[ -e "$tmp/mnt/card" ]; check "export mounts DIR/card" 0 $?
[ "$(stat -c %s "$tmp/mnt/card")" = 16777216 ]; check "card size" 0 $?
head -c 1048576 /dev/urandom >"$tmp/src"
dd if="$tmp/src" of="$tmp/mnt/card" bs=64k oflag=direct,sync conv=notrunc status=none; check "O_DIRECT|O_SYNC write" 0 $?
dd if="$tmp/mnt/card" of="$tmp/back" bs=64k count=16 iflag=direct status=none; check "O_DIRECT read" 0 $?
cmp -s "$tmp/src" "$tmp/back"; check "reads back what was written" 0 $?
fusermount3 -u "$tmp/mnt"; check "unmount" 0 $?
wait $pid; check "export exits cleanly after unmount" 0 $?
"$bin" card info "$tmp/e.img" | grep -q "(clean)"; check "image closed cleanly" 0 $?
# --trace: every card command in blktrace format; replayed on the same
# profile from the image's state before, it costs what the card counted.
"$bin" trace "$tmp/t" -a D --no-summary | grep -c " D " >"$tmp/n"; check "the trace prints" 0 $?
[ "$(cat "$tmp/n")" -ge 32 ]; check "the trace has the card's commands ($(cat "$tmp/n") D events)" 0 $?
"$bin" replay "$tmp/t" --profile class10 --size 16M --json >"$tmp/r.json"; check "the trace replays" 0 $?
python3 - "$tmp/r.json" "$tmp/counters" <<'PY'; check "replay: 1 MiB written and read, as the card counted" 0 $?
import json, sys
r = json.load(open(sys.argv[1]))["profiles"][0]
c = dict(l.split() for l in open(sys.argv[2]))
assert r["host_bytes_written"] == 1048576 == int(c["card.host_sectors_written"]) * 512, (r, c)
assert r["host_bytes_read"] == 1048576 == int(c["card.host_sectors_read"]) * 512, r
assert r["commands"] == int(c["card.commands"]), (r["commands"], c["card.commands"])
PY

# Without -f it daemonises as `cardfs mount` does: it returns once DIR/card
# is up, and the daemon closes the card after the unmount.
timeout 60 "$bin" card export "$tmp/e.img" "$tmp/mnt" >"$tmp/out"; check "export daemonises" 0 $?
[ -e "$tmp/mnt/card" ]; check "DIR/card is up when it returns" 0 $?
[ ! -s "$tmp/out" ]; check "nothing on stdout" 0 $?
# The process holding the image open: the daemon (no fuser in a fresh setup).
holder() { local p; for p in /proc/[0-9]*; do ls -l "$p/fd" 2>/dev/null | grep -q " $tmp/e.img$" && echo "${p#/proc/}"; done; }
daemon=$(holder)
[ -n "$daemon" ] && [ "$daemon" != $$ ]; check "a daemon holds the image" 0 $?
dd if="$tmp/src" of="$tmp/mnt/card" bs=64k oflag=direct conv=notrunc status=none; check "write to the daemon" 0 $?
timeout 30 fusermount3 -u "$tmp/mnt"; check "unmount the daemon's export" 0 $?
for _ in $(seq 100); do kill -0 "$daemon" 2>/dev/null || break; sleep 0.1; done
! kill -0 "$daemon" 2>/dev/null; check "the daemon exits after the unmount" 0 $?
kill -9 "$daemon" 2>/dev/null  # only if it hung
"$bin" card info "$tmp/e.img" | grep -q "(clean)"; check "the daemon closed the card cleanly" 0 $?
"$bin" card export "$tmp/e.img" "$tmp/no-such-dir" 2>"$tmp/err"; check "a missing DIR" 1 $?
grep -q "^cardfs card export: " "$tmp/err"; check "the daemon's error on this terminal" 0 $?
exit $fail
