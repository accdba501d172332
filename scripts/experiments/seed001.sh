#!/usr/bin/env bash
# Seed 001: the journey of `dd bs=128K count=2` to the card, in blktrace's
# vocabulary, read back with the real blkparse (and `cardfs trace`, which
# must agree). The file's data is found in the trace as the run of
# contiguous queued writes, so metadata writes elsewhere do not count.
#   seed001.sh CARDFS_BINARY
EX_NAME="seed 001"
source "$(dirname "$0")/lib.sh" "${1:-}"
ROWS=("buffered dd: queued writes" "buffered dd: merges" "buffered dd: card writes"
  "nomerges=2: card writes" "oflag=direct: synchronous writes" "oflag=direct: second queued after first completed"
  "count=10: request sizes under max_sectors_kb=512" "dd conv=fsync: events as in kernel 6.18's trace")
ex_need_mount "${ROWS[@]}"

ex_fresh class10 256M || { ex_fail_step "fresh mount" "mkfs + mount" "see the log"; ex_end; }
cf_ctl_write "$MNT" sync 1

# Traces `dd ... of=MNT/FILE ARGS` followed by fsync of the file; sets TEXT
# (blkparse's output) and RUN ("start length" of the file's data writes).
traced_dd() {
  local name=$1 file=$2; shift 2
  TEXT="" RUN=""
  ex_trace_start "$name" || return 1
  timeout -k 5 120 dd if=/dev/zero of="$MNT/$file" seek=1 "$@" status=none || { ex_trace_stop; return 1; }
  timeout -k 5 120 sync "$MNT/$file" || { ex_trace_stop; return 1; }
  ex_trace_stop || return 1
  TEXT=$(ex_blkparse "$name") || return 1
  RUN=$($EX_TOOL run "$TEXT") || RUN="0 0"
}

if traced_dd buffered f bs=128K count=2; then
  set -- $RUN
  q8=$($EX_TOOL select "$TEXT" -a Q --range "$1" "$2" | awk '$5 == 8' | wc -l)
  merges=$(($(ex_count "$TEXT" M "$1" "$2") + $(ex_count "$TEXT" F "$1" "$2")))
  done_sizes=$(ex_sizes "$TEXT" C "$1" "$2")
  ex_check "buffered dd: queued writes" "64 Q W of 8 sectors" "$q8 over a run of $2 sectors" ex_eq "$q8" 64
  ex_check "buffered dd: merges" "63 M" "$merges" ex_eq "$merges" 63
  ex_check "buffered dd: card writes" "one C W 512 sectors" "C sizes: ${done_sizes:-none}" ex_eq "$done_sizes" 512
else
  for r in "${ROWS[@]:0:3}"; do ex_fail_step "$r" "(trace)" "traced dd"; done
fi

if cf_ctl_write "$MNT" queue/nomerges 2 && traced_dd nomerges f2 bs=128K count=2; then
  set -- $RUN
  n=$(ex_count "$TEXT" C "$1" "$2")
  sizes=$(ex_sizes "$TEXT" C "$1" "$2" | tr ' ' '\n' | sort -u | tr '\n' ' ')
  ex_check "nomerges=2: card writes" "64 C W of 8 sectors" "$n C, sizes ${sizes:-none}" \
    test "$n" = 64 -a "$sizes" = "8 "
else
  ex_fail_step "nomerges=2: card writes" "64 C" "nomerges=2 and traced dd"
fi
cf_ctl_write "$MNT" queue/nomerges 0

# oflag=direct: two synchronous 256-sector writes reach the card, the
# second queued only after the first completed (dd waits for each).
if ex_trace_start direct &&
  timeout -k 5 120 dd if=/dev/zero of="$MNT/f3" bs=128K seek=1 count=2 oflag=direct status=none &&
  ex_trace_stop && TEXT=$(ex_blkparse direct); then
  ws=$($EX_TOOL select "$TEXT" -a C --rwbs 'W[A-LN-Z]*S[A-LN-Z]*' | awk '$5 == 256')
  n=$(echo -n "$ws" | grep -c .)
  queued=$($EX_TOOL select "$TEXT" -a Q --rwbs 'W[A-LN-Z]*S[A-LN-Z]*' | awk '{ print $5 }' | sort -n | uniq -c |
    awk '{ printf "%s%d×%d", sep, $1, $2; sep = ", " }')
  ex_check "oflag=direct: synchronous writes" "2 C WS of 256 sectors" \
    "$n (queued as: ${queued:-nothing})" ex_eq "$n" 2
  c1_time=$(echo "$ws" | awk 'NR == 1 { print $1 }')
  second=$(echo "$ws" | awk 'NR == 2 { print $4 }')
  q2_time=$($EX_TOOL select "$TEXT" -a Q --range "${second:-0}" 256 | awk 'NR == 1 { print $1 }')
  ex_check "oflag=direct: second queued after first completed" "first Q of write 2 after C of write 1" \
    "C #1 at ${c1_time:-?} s, Q #2 at ${q2_time:-?} s" \
    test -n "$q2_time" -a -n "$c1_time" -a "$(awk -v a="${c1_time:-0}" -v b="${q2_time:-0}" 'BEGIN { print (b > a) }')" = 1
else
  for r in "${ROWS[@]:4:2}"; do ex_fail_step "$r" "(trace)" "traced dd oflag=direct"; done
fi

# The same dd with conv=fsync, event by event against the kernel's own
# trace of it (tests/blockdev/data/kernel/seed001_fsync, a loop device with
# mq-deadline): the file's data run (Q/G/M/I/D/C, sizes, sectors from its
# start, who queued) and the flush (Q FWS, G FWS, D FN, C FN, C WS).
# The kernel's dd wrote a bare loop device: its fsync is one flush, with no
# journal commit after it. So this dd runs on a card made without the journal
# (a journaled fsync adds jbd2's preflush + FUA commit: tests/mount/journal_commit.sh).
KERNEL_TRACE=$(dirname "$0")/../../tests/blockdev/data/kernel
name="dd conv=fsync: events as in kernel 6.18's trace"
EX_MKFS_ARGS=(-O ^journal)
if ex_fresh class10 256M && cf_ctl_write "$MNT" sync 1 &&
  ex_trace_start kdd && timeout -k 5 120 dd if=/dev/zero of="$MNT/f5" bs=128K seek=1 count=2 conv=fsync status=none &&
  ex_trace_stop && TEXT=$(ex_blkparse kdd) && RUN=$($EX_TOOL run "$TEXT") &&
  blkparse -D "$KERNEL_TRACE" -i seed001_fsync >"$EX_TMP/kernel.txt" 2>/dev/null; then
  set -- $RUN
  $EX_TOOL shape "$TEXT" "$1" "$2" >"$EX_TMP/kdd.shape"
  $EX_TOOL shape "$EX_TMP/kernel.txt" 0 512 >"$EX_TMP/kernel.shape"
  differ=$(diff "$EX_TMP/kernel.shape" "$EX_TMP/kdd.shape" | grep -c '^[<>]')
  ex_check "$name" "the kernel's $(wc -l <"$EX_TMP/kernel.shape") events" \
    "$(wc -l <"$EX_TMP/kdd.shape") events, $differ lines differ" ex_eq "$differ" 0
else
  ex_fail_step "$name" "the kernel's events" "traced dd conv=fsync"
fi

if cf_ctl_write "$MNT" queue/max_sectors_kb 512 && traced_dd ten f4 bs=128K count=10; then
  set -- $RUN
  sizes=$(ex_sizes "$TEXT" C "$1" "$2" | tr ' ' '\n' | sort -rn | tr '\n' ' ')
  ex_check "count=10: request sizes under max_sectors_kb=512" "C of 1024, 1024, 512 sectors" \
    "C sizes: ${sizes:-none}" ex_eq "$sizes" "1024 1024 512 "
else
  ex_fail_step "count=10: request sizes under max_sectors_kb=512" "1024 1024 512" "traced dd"
fi

ex_end
