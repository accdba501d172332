#!/usr/bin/env bash
# scripts/bench/wa_study.sh end to end at --quick sizes on one card profile:
# both filesystems run every phase, the report has a write amplification
# for each, the export's exit report and the wear read-out exist, and
# gnuplot drew the four plots. Needs root (loop device) and gnuplot.
# Usage: wa_study_smoke.sh PATH/TO/cardfs
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "needs root: skipped"; exit 77; }
for tool in gnuplot fio sqlite3 losetup mkfs.ext4; do
  command -v "$tool" >/dev/null || { echo "no $tool: skipped"; exit 77; }
done
[ -e /dev/fuse ] && losetup -f >/dev/null 2>&1 || { echo "no /dev/fuse or no free loop device: skipped"; exit 77; }
out=$(mktemp -d /tmp/cardfs-wa-smoke.XXXXXX)
trap 'rm -rf "$out"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
timeout -k 10 600 "$root/scripts/bench/wa_study.sh" --quick --cardfs "$1" \
  --targets cardfs:class10,ext4:class10 --out "$out" >"$out/stdout" 2>&1 || { bad "wa_study.sh exit $?"; tail -20 "$out/stdout"; }
python3 - "$out/results.json" <<'PY' || fail=1
import json, sys
r = json.load(open(sys.argv[1]))
phases = ["seqwrite", "randwrite", "smallfiles", "tree", "sqlite"]
for t in ("cardfs:class10", "ext4:class10"):
    got = r["phases"].get(t, {})
    for p in phases:
        row = got.get(p)
        if row is None or not row["wa"] or row["wa"] < 0.5 or row["host_MiB"] <= 0 or row["device_s"] <= 0:
            print(f"FAIL: {t} {p}: {row}"); sys.exit(1)
    if r["wear"][t]["total_erases"] <= 0:
        print(f"FAIL: {t}: no erases in the wear read-out"); sys.exit(1)
print("ok: every phase measured on both targets")
PY
grep -q "^card.device_time_ns [1-9]" "$out/export-ext4_class10.counters" && echo "ok: export exit report" ||
  bad "no export exit report"
for plot in wa_device_time wa_by_phase wa_flash_vs_host wa_wear; do
  grep -q "<svg" "$out/$plot.svg" 2>/dev/null && echo "ok: $plot.svg" || bad "$plot.svg missing"
done
grep -q " fuse" /proc/self/mounts && grep -q "$out" /proc/self/mounts && bad "a mount under $out was left"
exit $fail
