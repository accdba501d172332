#!/usr/bin/env bash
# `cardfs measure` end to end on cardfs (FUSE mounts): the known workloads
# of docs/measure.md give its figures on class10 and a1 (a 16 MiB dd; a
# 4 KiB-record logger fsyncing every 10 records), report.json validates
# against docs/measure.schema.json, the plots and the CSV are there and not
# empty, errors are one line, nothing stays mounted.
#   tests/measure/measure.sh CARDFS SOURCE_DIR
set -u
bin=$(readlink -f "$1")
src=$(readlink -f "$2")
[ -e /dev/fuse ] || { echo "no /dev/fuse: skipped"; exit 77; }
tmp=$(mktemp -d /tmp/cardfs-measure-test.XXXXXX)
cleanup() {
  for m in $(awk -v t="$tmp" 'index($2, t) == 1 { print $2 }' /proc/self/mounts); do
    echo "FAIL: left mounted: $m"; fusermount3 -uz "$m" 2>/dev/null || umount -l "$m"
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
export TMPDIR=$tmp
fail=0
check() {  # check DESCRIPTION COMMAND...
  if "${@:2}"; then echo "ok: $1"; else echo "FAIL: $1"; fail=1; fi
}
cd "$tmp" || exit 1

# A 16 MiB dd on class10 and a1.
"$bin" measure --profile class10,a1 --size 64M --out dd -- dd if=/dev/zero of=zero bs=1M count=16 conv=fsync \
  >dd.out 2>dd.err
check "measure of a 16 MiB dd exits 0" test $? = 0
check "the table on stdout" grep -q "^class10 .*never\|^class10 " dd.out
check "advice on stdout" grep -q "AUs per second" dd.out
check "dd: the documented figures" python3 - dd/report.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
p = {x["profile"]: x for x in r["profiles"]}
assert r["filesystem"] == "cardfs" and r["exit_status"] == 0, r
for name in ("class10", "a1"):
    x = p[name]
    # 16 MiB of data and the filesystem's few metadata blocks.
    assert 16 << 20 <= x["host_bytes_written"] <= (16 << 20) + (512 << 10), (name, x["host_bytes_written"])
    assert x["flushes"] >= 1, x
assert 1.0 <= p["class10"]["write_amplification"] <= 1.3, p["class10"]["write_amplification"]
assert p["class10"]["merges"] <= 3 and p["class10"]["erases"] + p["class10"]["pending_erases"] <= 4, p["class10"]
assert 1.0 <= p["a1"]["write_amplification"] <= 1.05, p["a1"]["write_amplification"]
assert p["a1"]["merges"] == 0 and p["a1"]["erases"] == 0, p["a1"]
print({n: (round(x["write_amplification"], 3), x["merges"], x["erases"]) for n, x in p.items()})
PY
check "report.json validates against docs/measure.schema.json" python3 -c '
import json, sys, jsonschema
jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))' dd/report.json "$src/docs/measure.schema.json"
for plot in device_time wa_by_phase au_erases write_latency_cdf; do
  check "plot $plot.svg drawn" python3 - "dd/plots/$plot.svg" <<'PY'
import sys
svg = open(sys.argv[1]).read()
assert len(svg) > 2000 and "<svg" in svg and "<path" in svg, len(svg)
PY
done
check "timeseries.csv: a row per profile and second" python3 - dd/timeseries.csv <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert {r["profile"] for r in rows} == {"class10", "a1"}, rows[:2]
assert sum(int(r["host_bytes_written"]) for r in rows if r["profile"] == "a1") >= 16 << 20
PY
check "report.md has the table and advice" grep -q "## Advice" dd/report.md
check "the trace is kept" test -n "$(cat dd/trace/run.blktrace.* | head -c 1)"
check "the scratch card is gone" test -z "$(ls "$tmp" | grep cardfs-measure)"

# The logger: 600 records of 4 KiB, fsync every 10, standing for 10 minutes.
"$bin" measure --profile class10,a1 --size 64M --represents 10m --out logger -- \
  python3 "$src/scripts/workloads/logger.py" --records 600 >logger.out 2>&1
check "measure of the logger exits 0" test $? = 0
check "logger: the documented figures" python3 - logger/report.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
p = {x["profile"]: x for x in r["profiles"]}
assert r["represents_seconds"] == 600, r["represents_seconds"]
for x in p.values():
    assert x["host_bytes_written"] >= 600 * 4096 and x["flushes"] >= 60, x
    small = [a for a in x["advice"] if a["rule"] == "small_writes"][0]
    assert small["value"] > 0.2, small          # the 4 KiB records (the journal's commits are larger)
c, a = p["class10"], p["a1"]
assert c["write_amplification"] > 1.5 and a["write_amplification"] > 1.2, (c["write_amplification"], a["write_amplification"])
assert c["merges"] > 0 and a["merges"] == 0, (c["merges"], a["merges"])
assert c["device_time_ns"] > a["device_time_ns"], (c["device_time_ns"], a["device_time_ns"])
assert c["life_used"] > 0 and c["projected_lifetime_hours"] > 0, c
assert a["projected_lifetime_hours"] is None or a["projected_lifetime_hours"] > c["projected_lifetime_hours"]
print({n: (round(x["write_amplification"], 2), x["merges"], x["erases"], x["life_used"]) for n, x in p.items()})
PY

# docs/measure.md's walkthrough block runs as written, from a checkout.
mkdir -p checkout && ln -s "$(dirname "$bin")" checkout/build && ln -s "$src/scripts" checkout/scripts
awk '/^## Walkthrough/ { s = 1 } s && /^```sh$/ { b = 1; next } b && /^```$/ { exit } b' "$src/docs/measure.md" >walk.sh
check "the walkthrough has a block" test -s walk.sh
(cd checkout && timeout 300 bash -e ../walk.sh >../walk.out 2>&1)
check "the walkthrough block runs as written" test $? = 0
check "the walkthrough: three profiles in its report" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert [p["profile"] for p in r["profiles"]] == ["class10", "a1", "industrial-pslc"] and r["represents_seconds"] == 3600
c = r["profiles"][0]
assert c["merges"] > 0 and r["profiles"][1]["merges"] == 0, c' checkout/logger-report/report.json

# Errors: one line, exit 1; a failing command still gets its report.
one_line() { [ "$(wc -l <"$1")" = 1 ] && grep -q "$2" "$1"; }
"$bin" measure --profile class99 -- true 2>e1; check "unknown profile: exit 1" test $? = 1
check "unknown profile: one line" one_line e1 "unknown profile"
"$bin" measure --out dd -- true 2>e2; check "--out not empty: exit 1" test $? = 1
check "--out not empty: one line" one_line e2 "not empty"
"$bin" measure --represents soon -- true 2>e3; check "bad --represents: exit 1" test $? = 1
check "bad --represents: one line" one_line e3 "not a duration"
"$bin" measure --all --profile a1 -- true 2>/dev/null; check "--all with --profile: a usage error" test $? = 2
"$bin" measure --fs zfs -- true 2>e4; check "unknown --fs: exit 1" test $? = 1
check "unknown --fs: names the known ones" one_line e4 "known: cardfs, ext4, exfat"
"$bin" measure --profile a1 --size 64M --out failing -- sh -c 'echo hello; exit 3' >/dev/null 2>e5
check "a failing command: exit 1" test $? = 1
check "a failing command: said, with its log" grep -q "exited with 3" e5
check "a failing command: its output kept" grep -q hello failing/command.log
check "a failing command: report written" python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["exit_status"] == 3' failing/report.json

# Interrupted (SIGTERM, as a ^C would be): the workload stops, the card is
# unmounted, what was recorded is reported, exit 130.
"$bin" measure --profile a1 --size 64M --out stopped -- sh -c 'dd if=/dev/zero of=f bs=1M count=2 conv=fsync 2>/dev/null; exec sleep 60' \
  >/dev/null 2>e6 &
pid=$!
for _ in $(seq 100); do grep -q " $tmp/cardfs-measure" /proc/self/mounts && break; sleep 0.1; done
sleep 1
kill -TERM "$pid"
timeout 60 tail --pid="$pid" -f /dev/null
wait "$pid"; rc=$?
check "interrupted: exit 130" test "$rc" = 130
check "interrupted: said" grep -q "interrupted" e6
check "interrupted: the 2 MiB written before are reported" python3 -c '
import json, sys
p = json.load(open(sys.argv[1]))["profiles"][0]
assert p["host_bytes_written"] >= 2 << 20, p["host_bytes_written"]' stopped/report.json
check "interrupted: nothing left mounted" test -z "$(awk -v t="$tmp" 'index($2, t) == 1' /proc/self/mounts)"
exit $fail
