#!/usr/bin/env bash
# scripts/bench/run.sh end to end at --quick sizes, one run: ext4 on a loop
# device, fuse2fs and cardfs (with durable) each run every workload, and
# the report holds a figure for every workload of every target, with the
# ratios and the verdict on issue #9's targets. Needs root, fuse2fs, fio.
# Usage: bench_smoke.sh PATH/TO/cardfs
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "needs root: skipped"; exit 77; }
for tool in fio fuse2fs sqlite3 losetup mkfs.ext4 g++; do
  command -v "$tool" >/dev/null || { echo "no $tool: skipped"; exit 77; }
done
[ -e /dev/fuse ] && losetup -f >/dev/null 2>&1 || { echo "no /dev/fuse or no free loop device: skipped"; exit 77; }
out=$(mktemp -d /tmp/cardfs-bench-smoke.XXXXXX)
trap 'rm -rf "$out"' EXIT
fail=0
timeout -k 10 840 "$root/scripts/bench/run.sh" --quick --cardfs "$1" \
  --targets ext4,fuse2fs,cardfs,cardfs-durable --out "$out/r" --work "$out" >"$out/stdout" 2>&1 ||
  { echo "FAIL: run.sh exit $?"; tail -30 "$out/stdout"; exit 1; }
python3 - "$out/r" <<'PY' || fail=1
import json, sys
from pathlib import Path
r = json.loads((Path(sys.argv[1]) / "results.json").read_text())
bad = []
every = ["seq_write_MBps", "seq_read_cold_MBps", "randread_warm_iops", "randread_cold_iops",
         "randwrite_fsync32_iops", "direct_write_MBps", "create_small_s", "stat_small_s",
         "unlink_small_s", "create_large_s", "randstat_large_s", "cp_a_s", "du_s", "rm_rf_s", "sqlite_tps"]
for metric in every:
    for target in ("ext4", "fuse2fs", "cardfs"):
        s = r["results"].get(metric, {}).get(target)
        if not s or s["median"] <= 0:
            bad.append(f"{target} {metric}: {s}")
    for peer in ("ext4", "fuse2fs"):
        if not r["ratios"].get(metric, {}).get(peer):
            bad.append(f"no ratio cardfs vs {peer} for {metric}")
if not r["results"].get("sqlite_tps", {}).get("cardfs-durable"):
    bad.append("cardfs-durable has no sqlite figure")
if r["failures"] or r["skipped"]:
    bad.append(f"failures {r['failures']} skipped {r['skipped']}")
verdict = (Path(sys.argv[1]) / "verdict.md").read_text()
for line in verdict.splitlines():
    if "not measured" in line and "direct_io" not in line:  # the -dio targets are not in this run
        bad.append("verdict.md: unmeasured target: " + line)
for b in bad:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
PY
grep -q "$out" /proc/mounts && { echo "FAIL: a bench mount was left behind"; fail=1; }
losetup -a | grep -q "$out" && { echo "FAIL: a loop device was left attached"; fail=1; }
[ $fail = 0 ] && echo "bench smoke: every workload measured on ext4, fuse2fs and cardfs"
exit $fail
