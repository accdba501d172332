#!/usr/bin/env bash
# Seed 003: an O_DIRECT write over a range that is cached and dirty. The
# cache writes the dirty pages back before the direct write goes to the
# card (generic_file_direct_write's filemap_write_and_wait_range), then
# drops them, so a buffered read afterwards returns the direct data.
#   seed003.sh CARDFS_BINARY
EX_NAME="seed 003"
source "$(dirname "$0")/lib.sh" "${1:-}"
ROWS=("O_DIRECT over dirty cache: write-back first" "buffered read after O_DIRECT returns the direct data")
ex_need_mount "${ROWS[@]}"

ex_fresh class10 256M || { ex_fail_step "fresh mount" "mkfs + mount" "see the log"; ex_end; }
head -c 65536 /dev/urandom >"$EX_TMP/old"
head -c 4096 /dev/urandom >"$EX_TMP/new"
cp "$EX_TMP/old" "$MNT/f"  # 16 dirty pages in cardfs's cache, nothing on the card yet
cf_log "dirty before the direct write: $(ex_counter mem.Dirty) kB"

if ex_trace_start direct &&
  timeout -k 5 60 dd if="$EX_TMP/new" of="$MNT/f" bs=4k seek=1 count=1 oflag=direct conv=notrunc status=none &&
  ex_trace_stop && TEXT=$(ex_blkparse direct); then
  # As filemap_write_and_wait_range(pos, pos + count - 1), the direct
  # write first writes back only the dirty pages it overlaps: the first data
  # write queued is block 1's dirty page. At that sector the trace must show
  # the dirty page completing, then the direct write being queued.
  first=$($EX_TOOL select "$TEXT" -a Q --rwbs 'W[A-LN-Z]*' | head -1)
  set -- $first
  sector=${4:-0}
  wb_done=$($EX_TOOL select "$TEXT" -a C --rwbs 'W[A-LN-Z]*' --range "$sector" 8 | awk 'NR == 1 { print $1 }')
  direct_q=$($EX_TOOL select "$TEXT" -a Q --rwbs 'W[A-LN-Z]*' --range "$sector" 8 |
    awk -v t="${wb_done:-9e9}" '$1 > t { print $1; exit }')
  ex_check "O_DIRECT over dirty cache: write-back first" \
    "sector $sector: the dirty page's C, then the direct write's Q" \
    "write-back C at ${wb_done:-none}, direct Q at ${direct_q:-none (the direct write never reached the queue)}" \
    test -n "$first" -a -n "$wb_done" -a -n "$direct_q"
else
  ex_fail_step "O_DIRECT over dirty cache: write-back first" "write-back, then direct" "traced dd oflag=direct"
fi

{ head -c 4096 "$EX_TMP/old"; cat "$EX_TMP/new"; tail -c +8193 "$EX_TMP/old"; } >"$EX_TMP/expected"
if cmp -s "$MNT/f" "$EX_TMP/expected"; then same="identical"; else same="differs"; fi
ex_check "buffered read after O_DIRECT returns the direct data" "the file = old with block 1 replaced" \
  "$same" ex_eq "$same" identical

ex_end
