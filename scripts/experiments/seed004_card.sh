#!/usr/bin/env bash
# Seed 004, the card alone: the article's write-speed figures and its AU
# graph, with the real commands against the raw emulated card exported by
# `cardfs card export --realtime` (the card sleeps its device time, so dd
# and fio see the card's speed). Needs no filesystem and no mount of cardfs.
#   seed004_card.sh CARDFS_BINARY
EX_NAME="seed 004 card"
source "$(dirname "$0")/lib.sh" "${1:-}"
ROWS=("128 MB dd conv=fsync on seed-class10" "128 MB dd conv=fsync on seed-class4"
  "128 MB dd conv=fsync on class10" "16 streaming vs 16 AU-interleaved 4 KiB O_SYNC writes, seed-class10")
if ! cf_has_command card; then
  for r in "${ROWS[@]}"; do ex_skip "$r" "as in the article (docs/experiments.md)" "needs 'cardfs card' (export)"; done
  ex_end
fi

# Called in this shell (not in $(...)) so that the exports they start stay
# known to the EXIT trap.

# device_ns DIR: the card's device time so far, from the export's DIR/stat.
device_ns() { awk '$1 == "card.device_time_ns" { print $2; found = 1 } END { exit !found }' "$1/stat"; }

# `dd ... conv=fsync` of 128 MiB to a fresh card exported --realtime, in
# 64 KiB writes: the 128-block CMD25s the article's host sent (the export
# hands each write to the card as one command, so dd's block size is the
# card's command size, and each command costs the profile's overhead).
# The figure is the card's own device time for the dd, read from its counters
# (DIR/stat before and after): deterministic, whatever else the host runs.
# The wall time of the realtime run must be at least that (the export made
# dd wait for the card); the host's share (FUSE, dd, scheduling) only
# ever adds to it, which is why the wall time is shown but not bounded.
# Sets SECS (device seconds), WALL and OBSERVED.
write_128m_device() {
  local profile=$1 img=$EX_TMP/$1.img dir=$EX_TMP/$1.card t0 t1 d0 d1
  rm -f "$img"
  "$CARDFS" card create "$img" --profile "$profile" --size 256M >/dev/null || return 1
  cf_export "$img" "$dir" --realtime || return 1
  d0=$(device_ns "$dir") || return 1
  t0=$EPOCHREALTIME
  timeout -k 5 300 dd if=/dev/zero of="$dir/card" bs=64k count=2048 conv=fsync status=none || return 1
  t1=$EPOCHREALTIME
  d1=$(device_ns "$dir") || return 1
  cf_unexport "$dir" || return 1
  rm -f "$img"
  SECS=$(awk -v a="$d0" -v b="$d1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
  WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
  OBSERVED="$SECS s of card time (realtime dd wall $WALL s)"
}

# within SECS LO HI, and the realtime wall time not below the card's time.
device_within() { ex_between "$SECS" "$1" "$2" && ex_ge "$WALL" "$SECS"; }

for spec in "seed-class10 17" "seed-class4 88"; do
  set -- $spec
  name="128 MB dd conv=fsync on $1"
  if write_128m_device "$1"; then
    ex_check "$name" "about $2 s of card time (±5 %); realtime wall ≥ it" "$OBSERVED" \
      device_within "$(awk -v s="$2" 'BEGIN { print s * 0.95 }')" "$(awk -v s="$2" 'BEGIN { print s * 1.05 }')"
  else
    ex_fail_step "$name" "about $2 s" "dd on the exported card"
  fi
done

name="128 MB dd conv=fsync on class10"
if write_128m_device class10; then
  ex_check "$name" "≤ 12.8 s of card time (10 MB/s); realtime wall ≥ it" "$OBSERVED" device_within 0 12.8
else
  ex_fail_step "$name" "≤ 12.8 s" "dd on the exported card"
fi

# The article's graph: 4 KiB synchronous writes that stream inside one AU
# against writes that jump to another AU every time. The card is filled
# first (fast mode), so that leaving a partly rewritten AU costs a merge.
# SECS: the card's device time for the 16 writes (DIR/stat before/after).
au_seconds() {
  local pattern=$1 dir=$EX_TMP/graph.card d0 d1 au
  au=$(cardfs_au_bytes "$EX_TMP/graph.img") || return 1
  cf_export "$EX_TMP/graph.img" "$dir" --realtime || return 1
  local rw=write
  [ "$pattern" = interleaved ] && rw="write:$((au - 4096))"
  d0=$(device_ns "$dir") || return 1
  timeout -k 5 300 fio --name="$pattern" --filename="$dir/card" --rw="$rw" --bs=4k --direct=1 \
    --sync=1 --size=$((16 * au)) --number_ios=16 --offset=$((32 * au)) --output-format=terse \
    >/dev/null || return 1
  d1=$(device_ns "$dir") || return 1
  cf_unexport "$dir" || return 1
  SECS=$(awk -v a="$d0" -v b="$d1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
}

cardfs_au_bytes() {
  "$CARDFS" card info "$1" --json | python3 -c '
import json, sys
j = json.load(sys.stdin)
def find(o):
    if isinstance(o, dict):
        for k, v in o.items():
            if k in ("au_bytes", "au_size_bytes"):
                return v
            r = find(v)
            if r: return r
    return None
print(find(j) or "")' | grep .
}

name="16 streaming vs 16 AU-interleaved 4 KiB O_SYNC writes, seed-class10"
if "$CARDFS" card create "$EX_TMP/graph.img" --profile seed-class10 --size 256M >/dev/null &&
  cf_export "$EX_TMP/graph.img" "$EX_TMP/fill.card" &&
  timeout -k 5 300 dd if=/dev/urandom of="$EX_TMP/fill.card/card" bs=1M count=256 conv=fsync status=none &&
  cf_unexport "$EX_TMP/fill.card" &&
  au_seconds streaming && streaming=$SECS && au_seconds interleaved && interleaved=$SECS; then
  ratio=$(awk -v s="$streaming" -v i="$interleaved" 'BEGIN { printf "%.1f", i / (s > 0 ? s : 1e-9) }')
  ex_check "$name" "streaming clearly faster (≥ 1.5×): no merge per AU switch" \
    "card time: streaming ${streaming} s, interleaved ${interleaved} s (${ratio}×)" ex_ge "$ratio" 1.5
else
  ex_fail_step "$name" "streaming faster" "card create, fill or fio on the exported card"
fi

ex_end
