#!/usr/bin/env bash
# Round trip: a workload on a mount with tracing on, then `cardfs replay`
# of that trace against the same card: device time, write amplification,
# merges and erases equal the mounted card's own counters.
#
# What makes it hold: the trace's D events carry every command the card
# received (sizes, order, preflush and FUA bits, flushes, discards); the
# replay starts from the card's state when the mount opened it (--image on
# a copy taken before the mount: the same map, open logs and wear); the
# counters are read after a sync, with nothing left in the card's write
# buffer, and tracing stopped just after (dirty write-back held off so
# that no command slips in between).
#   tests/replay/round_trip.sh CARDFS
source "$(dirname "$0")/../mount/lib.sh" "$@"

counter() { awk -v k="card.$2" '$1 == k { print $2 }' "$1"; }

round_trip() {
  local profile=$1 dir=$MT_TMP/$1
  mkdir -p "$dir/mnt"
  check "mkfs $profile" "$CARDFS" mkfs --profile "$profile" --size 32M "$dir/card.img"
  cp --sparse=always "$dir/card.img" "$dir/before.img"
  mt_mount "$dir/card.img" "$dir/mnt" -o "trace=$dir/t,dirty_writeback_centisecs=360000,dirty_expire_centisecs=360000" ||
    return
  # Sequential files (one rewritten: the card runs out of free AUs and
  # erases), small synchronous rewrites scattered over one, reads.
  check "write files" sh -c "for i in 1 2 3 2 3 2 3 2 3 2 3; do dd if=/dev/urandom of=\"$dir/mnt/f\$i\" bs=1M count=6 conv=fsync status=none; done"
  check "sync writes" sh -c "for i in \$(seq 0 37 900); do dd if=/dev/zero of='$dir/mnt/f2' bs=4k count=1 seek=\$i conv=notrunc,fsync status=none; done"
  check "remove one" rm "$dir/mnt/f1"
  check "sync" sh -c "echo 1 > '$dir/mnt/.cardfs/sync'"
  check "read back" sh -c "cat '$dir/mnt/f3' > /dev/null"
  check "sync again" sh -c "echo 1 > '$dir/mnt/.cardfs/sync'"
  check "card counters" sh -c "cat '$dir/mnt/.cardfs/stat' > '$dir/stat'"
  check "stop the trace" sh -c "echo stop > '$dir/mnt/.cardfs/trace'"
  mt_umount "$dir/mnt"
  check "replay" sh -c "'$CARDFS' replay '$dir/t' --image '$dir/before.img' --profile $profile --json > '$dir/replay.json'"
  check "$profile: replay equals the card" python3 - "$dir/replay.json" \
    "$(counter "$dir/stat" device_time_ns)" "$(counter "$dir/stat" merges)" "$(counter "$dir/stat" erases)" \
    "$(counter "$dir/stat" flash_pages_programmed)" "$(counter "$dir/stat" host_sectors_written)" \
    "$(counter "$dir/stat" commands)" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["profiles"][0]
time, merges, erases, programmed, written, commands = map(int, sys.argv[2:])
got = dict(time=r["busy_ns"], merges=r["merges"], erases=r["erases"],
           programmed=r["flash_bytes_programmed"] // 16384, written=r["host_bytes_written"] // 512,
           commands=r["commands"])
want = dict(time=time, merges=merges, erases=erases, programmed=programmed, written=written, commands=commands)
print("replay", got, "\ncard  ", want)
assert got == want
assert merges > 0 and erases > 0, "the workload should make the card merge and erase"
PY
}

round_trip class10
round_trip a1
mt_pass
