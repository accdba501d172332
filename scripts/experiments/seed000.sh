#!/usr/bin/env bash
# Seed 000: writes land in the page cache and reach the card later.
#   echo foo > f returns with no card write; `cat f` then reads nothing from
#   the card; `sync f` (fsync) makes the card receive it and flush; a file
#   left alone is written back by the flusher after dirty_expire (tuned
#   down to 1 s here so the experiment stays short). Plain `sync` does not
#   reach cardfs (the kernel sends a /dev/fuse mount no SYNCFS); the
#   learner's command is `cardfs sync MNT`.
#   seed000.sh CARDFS_BINARY
EX_NAME="seed 000"
source "$(dirname "$0")/lib.sh" "${1:-}"
ex_need_mount "echo foo > f: no card write" "cat f: no card read" "sync f: card written and flushed" \
  "plain sync: cardfs not reached; cardfs sync MNT: written" "flusher writes back after dirty_expire"

# Flusher every 0.2 s, pages expire after 1 s.
ex_fresh class10 256M -o dirty_expire_centisecs=100,dirty_writeback_centisecs=20 ||
  { ex_fail_step "fresh mount" "mkfs + mount" "see the log"; ex_end; }
sync  # the mount's own start-up writes out of the way
cf_ctl_write "$MNT" sync 1

w0=$(ex_counter card.host_sectors_written)
echo foo >"$MNT/f"
w1=$(ex_counter card.host_sectors_written)
ex_check "echo foo > f: no card write" "0 sectors written" "$((w1 - w0)) sectors" ex_eq "$w1" "$w0"

r0=$(ex_counter card.host_sectors_read)
content=$(cat "$MNT/f")
r1=$(ex_counter card.host_sectors_read)
ex_check "cat f: no card read" "0 sectors read, 'foo'" "$((r1 - r0)) sectors, '$content'" \
  test "$r1" = "$r0" -a "$content" = foo

f0=$(ex_counter card.flushes)
w0=$(ex_counter card.host_sectors_written)
timeout -k 5 60 sync "$MNT/f"
w1=$(ex_counter card.host_sectors_written)
f1=$(ex_counter card.flushes)
ex_check "sync f: card written and flushed" "> 0 sectors, ≥ 1 flush" \
  "$((w1 - w0)) sectors, $((f1 - f0)) flushes" test "$w1" -gt "$w0" -a "$f1" -gt "$f0"

# sync(1) without a file: the kernel syncs its own caches only. (Expiry
# is lengthened meanwhile, so the flusher cannot write the file instead.)
cf_ctl_write "$MNT" vm/dirty_expire_centisecs 360000
echo baz >"$MNT/h"
w0=$(ex_counter card.host_sectors_written)
timeout -k 5 60 sync
w1=$(ex_counter card.host_sectors_written)
timeout -k 5 60 "$CARDFS" sync "$MNT"
w2=$(ex_counter card.host_sectors_written)
ex_check "plain sync: cardfs not reached; cardfs sync MNT: written" "sync: 0 sectors; cardfs sync: > 0" \
  "sync: $((w1 - w0)) sectors; cardfs sync: $((w2 - w1)) sectors" test "$w1" = "$w0" -a "$w2" -gt "$w1"
cf_ctl_write "$MNT" vm/dirty_expire_centisecs 100

# Left alone: nothing at once, then the flusher within expire + a few periods.
cf_ctl_write "$MNT" sync 1  # all clean, so the next write is the only dirt
w0=$(ex_counter card.host_sectors_written)
t0=$EPOCHREALTIME
echo bar >"$MNT/g"
early=$(ex_counter card.host_sectors_written)
seen=""
for ((i = 0; i < 150; i++)); do
  sleep 0.1
  if [ "$(ex_counter card.host_sectors_written)" -gt "$w0" ]; then
    seen=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
    break
  fi
done
ex_check "flusher writes back after dirty_expire" "none at once; written 1-3 s later (expire 1 s)" \
  "$((early - w0)) sectors at once; written after ${seen:-never (15 s)} s" \
  test "$early" = "$w0" -a -n "$seen" -a "$(awk -v s="${seen:-0}" 'BEGIN { print (s >= 0.9 && s <= 3.0) }')" = 1

ex_end
