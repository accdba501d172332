#!/usr/bin/env bash
# Seed 004 through the filesystem: dirty throttling of a writer faster than
# a realtime card, the 128 MB write times in device time (fast mode, read
# from the card's counters), and sub-page dirt (a 256-byte change writes
# one sector). The card-only parts are in seed004_card.sh.
#   seed004.sh CARDFS_BINARY
EX_NAME="seed 004"
source "$(dirname "$0")/lib.sh" "${1:-}"
ROWS=("writer faster than a realtime class4 card: throttled" "dirty stays near dirty_ratio"
  "background write-back started" "128 MB conv=fsync on seed-class10, device time"
  "128 MB conv=fsync on seed-class4, device time" "128 MB conv=fsync on class10, device time"
  "256-byte overwrite of a cached file")
ex_need_mount "${ROWS[@]}"

# ---- throttling: 32 MiB into a 32 MiB cache (dirty limit 20 %) on a realtime class4 card
if ex_fresh class4 256M -o realtime,cache_size=32M,dirty_ratio=20,dirty_background_ratio=10; then
  limit_kb=$(ex_counter mem.DirtyLimit)
  timeout -k 5 300 dd if=/dev/zero of="$MNT/big" bs=1M count=32 status=none &
  dd_pid=$!
  max_dirty=0
  while kill -0 "$dd_pid" 2>/dev/null; do
    d=$(ex_counter mem.Dirty) && [ "$d" -gt "$max_dirty" ] && max_dirty=$d
    sleep 0.2
  done
  wait "$dd_pid"; dd_rc=$?
  throttles=$(ex_counter vm.throttle_events) bg=$(ex_counter vm.background_writeback)
  ex_check "writer faster than a realtime class4 card: throttled" "dd completes; throttle_events > 0" \
    "dd exit $dd_rc, $throttles throttle events" test "$dd_rc" = 0 -a "$throttles" -gt 0
  ex_check "dirty stays near dirty_ratio" "max Dirty ≤ DirtyLimit ($limit_kb kB) + 10 %" \
    "max Dirty $max_dirty kB" ex_le "$max_dirty" "$(awk -v l="$limit_kb" 'BEGIN { print l * 1.1 }')"
  ex_check "background write-back started" "background_writeback > 0" "$bg" test "$bg" -gt 0
else
  for r in "${ROWS[@]:0:3}"; do ex_fail_step "$r" "(mount)" "class4 realtime mount"; done
fi

# ---- 128 MB in device time, fast mode
device_seconds_128m() {
  local profile=$1 t0 t1
  ex_fresh "$profile" 512M || return 1
  t0=$(ex_counter card.device_time_ns) || return 1
  timeout -k 5 600 dd if=/dev/zero of="$MNT/f128" bs=1M count=128 conv=fsync status=none || return 1
  t1=$(ex_counter card.device_time_ns) || return 1
  SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
  # Where the time went, for the observed column.
  WHY="$(ex_counter card.merges) AU merges, write amplification $(ex_counter card.write_amplification)"
}
for spec in "seed-class10 17" "seed-class4 88"; do
  set -- $spec
  name="128 MB conv=fsync on $1, device time"
  if device_seconds_128m "$1"; then
    ex_check "$name" "about $2 s (±5 %)" "$SECS s ($WHY)" \
      ex_between "$SECS" "$(awk -v s="$2" 'BEGIN { print s * 0.95 }')" "$(awk -v s="$2" 'BEGIN { print s * 1.05 }')"
  else
    ex_fail_step "$name" "about $2 s" "mount + dd"
  fi
done
if device_seconds_128m class10; then
  ex_check "128 MB conv=fsync on class10, device time" "≤ 12.8 s" "$SECS s ($WHY)" \
    ex_le "$SECS" 12.8
else
  ex_fail_step "128 MB conv=fsync on class10, device time" "≤ 12.8 s" "mount + dd"
fi

# ---- a 256-byte change of a cached file writes one sector
name="256-byte overwrite of a cached file"
if ex_fresh class10 256M && ex_trace_start init && head -c 8192 /dev/urandom >"$MNT/small" &&
  sync "$MNT/small" && ex_trace_stop && TEXT=$(ex_blkparse init) && RUN=$($EX_TOOL run "$TEXT" --min 16 --not-from '^jbd2/'); then
  set -- $RUN
  start=$1
  cat "$MNT/small" >/dev/null
  if ex_trace_start change &&
    dd if=/dev/urandom of="$MNT/small" bs=256 count=1 seek=3 conv=notrunc status=none &&
    sync "$MNT/small" && ex_trace_stop && TEXT=$(ex_blkparse change); then
    sizes=$($EX_TOOL select "$TEXT" -a C --rwbs 'W[A-LN-Z]*' --range "$start" 16 | awk '{ print $5 }' | tr '\n' ' ')
    sizes=${sizes% }
    ex_check "$name" "one C W of 1 sector in the file's 16" "C sizes: ${sizes:-none}" ex_eq "$sizes" 1
  else
    ex_fail_step "$name" "1 sector" "traced overwrite"
  fi
else
  ex_fail_step "$name" "1 sector" "traced first write"
fi

ex_end
