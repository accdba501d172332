#!/usr/bin/env bash
# scripts/bench/peers/report.py and verdict.py on a made-up run: medians
# and spreads, ratios oriented so that > 1 means cardfs is better, and a
# peer that hit the step bound reported as a bound with a bounded ratio
# and a verdict that says whether the bound settles the target.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
command -v python3 >/dev/null || { echo "no python3: skipped"; exit 77; }
d=$(mktemp -d /tmp/cardfs-bench-report.XXXXXX)
trap 'rm -rf "$d"' EXIT
cat >"$d/meta.json" <<'J'
{"date": "2026-11-21 00:00 UTC", "machine": "test", "command": "test", "mode": "full", "runs": 3,
 "sizes": {"meta_small": 10000, "meta_large": 100000, "randstats": 1000}}
J
t=$'\t'
{
  for r in 1 2 3; do
    echo "ext4${t}$r${t}create_small_s${t}0.$r"          # 0.1 0.2 0.3: median 0.2
    echo "fuse2fs${t}$r${t}create_small_s${t}1$r"        # 11 12 13: median 12
    echo "cardfs${t}$r${t}create_small_s${t}$((r + 1))"  # 2 3 4: median 3
    echo "fuse2fs${t}$r${t}seq_read_cold_MBps${t}100"
    echo "cardfs${t}$r${t}seq_read_cold_MBps${t}$((150 + r))"
    echo "ext4${t}$r${t}create_large_s${t}3"
    echo "cardfs${t}$r${t}create_large_s${t}40"
    echo "cardfs${t}$r${t}randstat_large_s${t}0.2"
  done
} >"$d/raw.tsv"
printf 'fuse2fs\t1\tcreate_large_s\t>1200\n' >"$d/bounds.tsv"
printf 'fuse2fs\t1\tmeta_large\texit 124: timed out after 1200s;\n' >"$d/failures.tsv"
: >"$d/skipped.tsv"
fail=0
python3 "$root/scripts/bench/peers/report.py" "$d" >/dev/null || { echo "FAIL: report.py exit $?"; exit 1; }
python3 "$root/scripts/bench/peers/verdict.py" "$d" >/dev/null || { echo "FAIL: verdict.py exit $?"; exit 1; }
expect() {  # expect FILE REGEX WHAT
  grep -Eq "$2" "$d/$1" || { echo "FAIL: $3: no line matching '$2' in $1:"; cat "$d/$1"; fail=1; }
}
expect results.md '^\| create 10000 files in one dir \| s \| 0\.2 \(0\.1\.\.0\.3\) \| 12\.0 \(11\.0\.\.13\.0\) \| 3\.00 \(2\.00\.\.4\.00\) \| 0\.07× \| 4\.00× \|$' \
  "seconds: median (min..max), ratio = peer / cardfs"
expect results.md '^\| sequential read, cold \| MB/s \| — \| 100 \(100\.\.100\) \| 152 \(151\.\.153\) \| — \| 1\.52× \|$' \
  "rates: ratio = cardfs / peer, a missing target is a dash"
expect results.md '^\| create 100000 files in one dir \| s \| 3\.00 \(3\.00\.\.3\.00\) \| > 1200 \(timed out\) \| 40\.0 \(40\.0\.\.40\.0\) \| 0\.07× \| > 30\.00× \|$' \
  "a timed-out peer: its bound, and a bounded ratio"
expect results.md 'fuse2fs run 1 meta_large: exit 124' "the failure is listed"
expect verdict.md '^\| create 10000 files \| fuse2fs \| ≥ 10× \| 4\.00× \| \*\*missed\*\* \|$' "a missed target"
expect verdict.md '^\| cold sequential read \| fuse2fs \| ≥ 2× \| 1\.52× \| \*\*missed\*\* \|$' "rate target"
expect verdict.md '^\| create 100000 files in one directory \| fuse2fs \| ≥ 20× \| > 30\.00× \| met \(the peer timed out\) \|$' \
  "a bound that clears the target"
expect verdict.md '^\| 1000 random lookups there \| fuse2fs \| ≥ 20× \| not measured \|' "no figure, no bound"
python3 - "$d/results.json" <<'PY' || fail=1
import json, sys
r = json.load(open(sys.argv[1]))
assert r["bounds"]["create_large_s"]["fuse2fs"] == [">", 1200.0], r["bounds"]
assert r["bounded_ratios"]["create_large_s"]["fuse2fs"] == [">", 30.0], r["bounded_ratios"]
assert r["ratios"]["create_small_s"]["fuse2fs"] == 4.0
PY
[ $fail = 0 ] && echo "bench report: medians, ratios, bounds and verdicts as expected"
exit $fail
