#!/usr/bin/env bash
# `cardfs stat` as issue 18 wants it: --json (every counter once; with -i
# a JSON line per interval), the busy column named for what it is (device
# time per wall second, with a legend), write amplification per interval
# beside the cumulative figure.
#   tests/measure/stat.sh CARDFS
source "$(dirname "$0")/../mount/lib.sh" "$@"

dir=$MT_TMP
mkdir -p "$dir/mnt"
check "mkfs" "$CARDFS" mkfs --profile class10 --size 64M "$dir/card.img"
mt_mount "$dir/card.img" "$dir/mnt" || mt_pass
check "write" dd if=/dev/zero of="$dir/mnt/f" bs=1M count=8 conv=fsync status=none
check "stat --json: every counter in one object" sh -c "'$CARDFS' stat '$dir/mnt' --json > '$dir/once.json'"
check "stat --json parses, with the card's counters" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["card.host_sectors_written"] >= 8 * 2048 and "card.write_amplification" in d, list(d)[:5]' "$dir/once.json"
# Lines while a writer runs: interval WA beside the cumulative one.
dd if=/dev/zero of="$dir/mnt/g" bs=64k count=512 oflag=sync status=none &
writer=$!
check "stat -i --json: a JSON line per interval" sh -c "'$CARDFS' stat '$dir/mnt' -i 0.3 -c 3 --json > '$dir/lines.json'"
check "stat -i: the legend, the columns" sh -c "'$CARDFS' stat '$dir/mnt' -i 0.3 -c 2 > '$dir/lines.txt'"
wait "$writer"
check "JSON lines: t, wa_cumulative, wa_interval, device_time_per_wall_pct" python3 -c '
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert len(lines) == 3, lines
for l in lines:
    for k in ("t", "wa_cumulative", "wa_interval", "device_time_per_wall_pct", "write_mb_per_s"):
        assert k in l, (k, l)
assert any(l["wa_interval"] is not None and l["wa_interval"] >= 1.0 for l in lines), lines' "$dir/lines.json"
check "the busy column is device time per wall second, explained" grep -q "^# dev/wall%: the card's device time per second of wall time" "$dir/lines.txt"
check "WAcum and WAint columns" grep -qE "WAcum +WAint +dev/wall%" "$dir/lines.txt"
mt_umount "$dir/mnt"
mt_pass
