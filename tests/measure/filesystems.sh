#!/usr/bin/env bash
# `cardfs measure --fs F` for every filesystem it knows: each one this
# machine can mount measures a 4 MiB dd (the export's trace holds the mkfs
# and the run); one it cannot is refused with the reason, and said here as
# skipped. Nothing stays mounted, no loop device stays attached.
#   tests/measure/filesystems.sh CARDFS
set -u
bin=$(readlink -f "$1")
[ "$(id -u)" = 0 ] && [ -e /dev/fuse ] || { echo "needs root and /dev/fuse: skipped"; exit 77; }
tmp=$(mktemp -d /tmp/cardfs-measure-fs.XXXXXX)
cleanup() {
  for m in $(awk -v t="$tmp" 'index($2, t) == 1 { print $2 }' /proc/self/mounts | sort -r); do
    echo "FAIL: left mounted: $m"; umount "$m" 2>/dev/null || fusermount3 -uz "$m" 2>/dev/null || umount -l "$m"
  done
  for l in $(losetup -a | awk -F: -v t="$tmp" 'index($0, t) { print $1 }'); do
    echo "FAIL: loop device left: $l"; losetup -d "$l"
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
export TMPDIR=$tmp
cd "$tmp" || exit 1
fail=0 measured=0
for fs in ext4 exfat btrfs xfs vfat f2fs; do
  "$bin" measure --fs "$fs" --profile class10,a1 --out "$fs" -- dd if=/dev/zero of=f bs=1M count=4 conv=fsync \
    >"$fs.out" 2>"$fs.err"
  rc=$?
  if [ "$rc" = 1 ] && grep -q "^cardfs measure: $fs: " "$fs.err" && [ "$(wc -l <"$fs.err")" = 1 ]; then
    echo "skipped: $(cat "$fs.err")"
    continue
  fi
  if [ "$rc" != 0 ]; then echo "FAIL: $fs: exit $rc: $(tail -2 "$fs.err")"; fail=1; continue; fi
  if python3 - "$fs/report.json" "$fs" <<'PY'; then echo "ok: $fs measured"; measured=$((measured + 1)); else echo "FAIL: $fs report"; fail=1; fi
import json, sys
r = json.load(open(sys.argv[1]))
assert r["filesystem"] == sys.argv[2] and r["trace"]["setup_events"] > 0, r["trace"]
for p in r["profiles"]:
    assert p["host_bytes_written"] >= 4 << 20 and p["flushes"] >= 1, (p["profile"], p["host_bytes_written"])
print(sys.argv[2], {p["profile"]: round(p["write_amplification"], 2) for p in r["profiles"]})
PY
done
# This machine's kernel mounts ext4; a run that measured nothing is a failure.
[ "$measured" -gt 0 ] || { echo "FAIL: no filesystem could be measured"; fail=1; }
exit $fail
