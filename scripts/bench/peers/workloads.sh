# shellcheck shell=bash
# workloads.sh: the workloads of scripts/bench/run.sh (sourced). Each
# wl_NAME TARGET runs in the target's fresh mount and prints one line per
# figure, "metric value"; units and which way is better are in report.py.
# Sizes come from run.sh (full or --quick). Every command is bounded by
# $BENCH_STEP_TIMEOUT; a failure returns non-zero and run.sh records it.

BENCH_WORKLOADS_ALL="seqwrite seqread_cold randread_warm randread_cold randwrite_fsync direct_write meta_small meta_large tree sqlite"
# Run only when named in --workloads (not part of the default set).
BENCH_WORKLOADS_EXTRA="randwrite_wide"

bounded() { timeout -k 10 "$BENCH_STEP_TIMEOUT" "$@"; }

# timed_out RC METRIC [WORK]: after a timed step failed with RC, print the
# bound the timeout puts on METRIC when RC says the step hit
# $BENCH_STEP_TIMEOUT: "METRIC >BOUND" for seconds, or "METRIC <WORK/BOUND"
# for a rate when WORK (units done in the step) is given. run.sh records
# it as a bound, not a value. Returns RC.
timed_out() {
  local rc=$1 metric=$2 work=${3:-}
  if [ "$rc" -eq 124 ]; then
    if [ -n "$work" ]; then
      awk -v m="$metric" -v w="$work" -v b="$BENCH_STEP_TIMEOUT" 'BEGIN { printf "%s <%.6g\n", m, w / b }'
    else
      echo "$metric >$BENCH_STEP_TIMEOUT"
    fi
  fi
  return "$rc"
}

# Every fio run is given --fallocate=none: fio otherwise preallocates its
# file first. cardfs used to do that by writing zeros (the file was written
# twice on cardfs only); it now has unwritten blocks as ext4 and fuse2fs
# have unwritten extents, and the flag stays so that runs remain comparable
# with earlier ones. The workloads are plain writes, as the issue names.

# card_bytes TARGET: "IMAGE_BYTES HOST_BYTES" from a cardfs mount's
# .cardfs/stat (the bytes written to the image file, and by the card's
# host, the filesystem, since the mount), nothing for other targets.
card_bytes() {
  case $1 in cardfs*) ;; *) return 0 ;; esac
  awk '$1 == "card.image_bytes_written" { i = $2 } $1 == "card.host_sectors_written" { h = $2 * 512 }
       END { if (i != "" && h != "") printf "%d %d\n", i, h }' "$(tgt_mnt "$1")/.cardfs/stat" 2>/dev/null
}

# card_mark TARGET: the workload's writes start here (after what it
# prepares): run.sh reports the image's bytes per byte written since.
card_mark() { card_bytes "$1" >"$BENCH_WORK/card_before"; }

now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f\n", b - a }'; }

# fio with JSON output; prints the chosen field of the first job. The
# bytes fio wrote go to $BENCH_WORK/app_bytes (app_bytes below).
fio_json() {
  local field=$1; shift
  local out
  out=$(bounded fio --fallocate=none --output-format=json --ioengine=psync --group_reporting "$@") || return
  printf '%s' "$out" | python3 -c '
import json, sys
text = sys.stdin.read()
job = json.loads(text[text.find("{"):])["jobs"][0]
rw, key = sys.argv[1].split(".")
open(sys.argv[2], "w").write("%d\n" % job["write"]["io_bytes"])
print("%.1f" % job[rw][key])' "$field" "$BENCH_WORK/app_bytes"
}

# app_bytes N: the workload's application wrote N bytes (run.sh divides the
# image's bytes by them on cardfs targets; workloads that do not know
# their application's bytes leave it unset).
app_bytes() { echo "$1" >"$BENCH_WORK/app_bytes"; }

# Throughput of a whole fio run by wall time (includes end_fsync).
fio_mbps() {
  local bytes=$1; shift
  local t0 t1
  t0=$(now)
  bounded fio --fallocate=none --output-format=terse --ioengine=psync "$@" >/dev/null || return
  t1=$(now)
  awk -v b="$bytes" -v a="$t0" -v c="$t1" 'BEGIN { printf "%.1f\n", b / 1e6 / (c - a) }'
}

size_bytes() { numfmt --from=iec "$1"; }

wl_seqwrite() {
  local mnt v; mnt=$(tgt_mnt "$1")
  v=$(fio_mbps "$(size_bytes "$BENCH_SEQ_SIZE")" --name=seqw --rw=write --bs=1M \
    --size="$BENCH_SEQ_SIZE" --end_fsync=1 --filename="$mnt/seq") || return
  app_bytes "$(size_bytes "$BENCH_SEQ_SIZE")"
  echo "seq_write_MBps $v"
}

wl_seqread_cold() {
  local mnt v; mnt=$(tgt_mnt "$1")
  [ -f "$mnt/seq" ] || bounded fio --fallocate=none --output-format=terse --name=prep --rw=write --bs=1M \
    --size="$BENCH_SEQ_SIZE" --end_fsync=1 --filename="$mnt/seq" >/dev/null || return
  tgt_cold "$1" || return
  v=$(fio_mbps "$(size_bytes "$BENCH_SEQ_SIZE")" --name=seqr --rw=read --bs=1M \
    --size="$BENCH_SEQ_SIZE" --filename="$mnt/seq") || return
  echo "seq_read_cold_MBps $v"
  rm -f "$mnt/seq"
}

rand_prepare() {
  local mnt=$1
  [ -f "$mnt/rand" ] && return 0
  bounded fio --fallocate=none --output-format=terse --name=prep --rw=write --bs=1M --size="$BENCH_RAND_SIZE" \
    --end_fsync=1 --filename="$mnt/rand" >/dev/null
}

# randread MNT [fio args]: 4 KiB random reads of MNT/rand.
randread() {
  local mnt=$1; shift
  fio_json read.iops --name=randr --rw=randread --bs=4k --size="$BENCH_RAND_SIZE" \
    --filename="$mnt/rand" --time_based --runtime="$BENCH_RUNTIME" --randseed=20261121 "$@"
}

wl_randread_warm() {
  local mnt v; mnt=$(tgt_mnt "$1")
  rand_prepare "$mnt" || return
  bounded cat "$mnt/rand" >/dev/null && bounded cat "$mnt/rand" >/dev/null || return
  # fio's default invalidate=1 drops the file's page cache before it starts,
  # which would turn "warm" into "cold in the kernel, warm below it".
  v=$(randread "$mnt" --invalidate=0) || return
  echo "randread_warm_iops $v"
}

wl_randread_cold() {
  local mnt v; mnt=$(tgt_mnt "$1")
  rand_prepare "$mnt" || return
  tgt_cold "$1" || return
  v=$(randread "$mnt") || return
  echo "randread_cold_iops $v"
}

# randwrite_fsync32 TARGET FILE SIZE RUNTIME: fio's 4 KiB random writes
# with an fsync every 32 over FILE (SIZE, written before) for RUNTIME
# seconds, the card's bytes counted from here; prints the IOPS.
randwrite_fsync32() {
  card_mark "$1"
  fio_json write.iops --name=randw --rw=randwrite --bs=4k --size="$3" --fsync=32 --filename="$2" \
    --time_based --runtime="$4" --randseed=20261121
}

wl_randwrite_fsync() {
  local mnt v; mnt=$(tgt_mnt "$1")
  rand_prepare "$mnt" || return
  v=$(randwrite_fsync32 "$1" "$mnt/rand" "$BENCH_RAND_SIZE" "$BENCH_RUNTIME") || return
  echo "randwrite_fsync32_iops $v"
  rm -f "$mnt/rand"
}

# The random writes of randwrite_fsync over a file of half the card
# ($BENCH_WIDE_SIZE, 1 GiB on the reduced 2 GiB image) for
# $BENCH_WIDE_RUNTIME: on a block-FTL card nearly every write then merges a
# whole AU (issue 23, item 1: the image's bytes per byte fio wrote).
wl_randwrite_wide() {
  local mnt v; mnt=$(tgt_mnt "$1")
  bounded fio --fallocate=none --output-format=terse --name=prep --rw=write --bs=1M --size="$BENCH_WIDE_SIZE" \
    --end_fsync=1 --filename="$mnt/wide" >/dev/null || return
  v=$(randwrite_fsync32 "$1" "$mnt/wide" "$BENCH_WIDE_SIZE" "$BENCH_WIDE_RUNTIME") || return
  echo "randwrite_wide_iops $v"
  rm -f "$mnt/wide"
}

wl_direct_write() {
  local mnt v; mnt=$(tgt_mnt "$1")
  v=$(fio_mbps "$(size_bytes "$BENCH_DIRECT_SIZE")" --name=directw --rw=write --bs=128k \
    --direct=1 --size="$BENCH_DIRECT_SIZE" --filename="$mnt/direct") || return
  app_bytes "$(size_bytes "$BENCH_DIRECT_SIZE")"
  echo "direct_write_MBps $v"
  rm -f "$mnt/direct"
}

# Each figure is printed as soon as it is measured, so that the ones before
# a step that fails or times out are kept.
wl_meta_small() {
  local d n=$BENCH_META_SMALL v; d=$(tgt_mnt "$1")/small
  mkdir "$d" || return
  v=$(bounded "$FSOPS" create "$d" "$n") || { timed_out $? create_small_s; return; }
  echo "create_small_s $v"
  v=$(bounded "$FSOPS" stat "$d" "$n") || { timed_out $? stat_small_s; return; }
  echo "stat_small_s $v"
  v=$(bounded "$FSOPS" unlink "$d" "$n") || { timed_out $? unlink_small_s; return; }
  echo "unlink_small_s $v"
  rmdir "$d"
}

wl_meta_large() {
  local d n=$BENCH_META_LARGE v; d=$(tgt_mnt "$1")/large
  mkdir "$d" || return
  v=$(bounded "$FSOPS" create "$d" "$n") || { timed_out $? create_large_s; return; }
  echo "create_large_s $v"
  tgt_drop_dentries "$1"
  v=$(bounded "$FSOPS" randstat "$d" "$n" "$BENCH_RANDSTATS" 20261121) || { timed_out $? randstat_large_s; return; }
  echo "randstat_large_s $v"
  bounded "$FSOPS" unlink "$d" "$n" >/dev/null && rmdir "$d"
}

wl_tree() {
  local mnt t0 t1 t2 t3; mnt=$(tgt_mnt "$1")
  du -s "$BENCH_TREE" >/dev/null  # the source warm in the host's cache
  t0=$(now)
  bounded cp -a "$BENCH_TREE" "$mnt/tree" || { timed_out $? cp_a_s; return; }
  t1=$(now)
  echo "cp_a_s $(elapsed "$t0" "$t1")"
  tgt_drop_dentries "$1"
  t0=$(now)
  bounded du -s "$mnt/tree" >/dev/null || { timed_out $? du_s; return; }
  t1=$(now)
  echo "du_s $(elapsed "$t0" "$t1")"
  t0=$(now)
  bounded rm -rf "$mnt/tree" || { timed_out $? rm_rf_s; return; }
  t1=$(now)
  echo "rm_rf_s $(elapsed "$t0" "$t1")"
}

# sqlite_script N FILE: N single-row transactions (journal_mode=DELETE,
# synchronous=FULL) as a SQL script, written once.
sqlite_script() {
  local n=$1 sql=$2 i
  [ -f "$sql" ] && return 0
  {
    echo "PRAGMA journal_mode=DELETE; PRAGMA synchronous=FULL;"
    echo "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
    for ((i = 0; i < n; i++)); do echo "INSERT INTO t(v) VALUES('row $i');"; done
  } >"$sql"
}

wl_sqlite() {
  local mnt t0 t1 sql=$BENCH_WORK/sqlite_$BENCH_SQLITE_TX.sql; mnt=$(tgt_mnt "$1")
  sqlite_script "$BENCH_SQLITE_TX" "$sql"
  rm -f "$mnt/bench.db"
  t0=$(now)
  bounded sqlite3 "$mnt/bench.db" <"$sql" >/dev/null || { timed_out $? sqlite_tps "$BENCH_SQLITE_TX"; return; }
  t1=$(now)
  awk -v n="$BENCH_SQLITE_TX" -v a="$t0" -v b="$t1" 'BEGIN { printf "sqlite_tps %.1f\n", n / (b - a) }'
  rm -f "$mnt/bench.db"
}
