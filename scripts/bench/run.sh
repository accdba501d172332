#!/usr/bin/env bash
# The benchmark against peers, in one command (as root: loop devices and
# mounts). Measures kernel ext4 on a loop device, fuse2fs on an ext4 image
# and cardfs (fast mode; cardfs-durable too when the mount takes the
# option) on the same workloads, interleaving the targets run by run, and
# writes results/bench-<date>/{results.md,results.json,raw.tsv,log}.
#   scripts/bench/run.sh                 full sizes, 3 runs per figure
#   scripts/bench/run.sh --quick         small sizes, 1 run (a smoke test of a few minutes)
#   scripts/bench/run.sh --reduced       every workload at sizes a busy 2-core VM runs in
#                                        about 10 min per run (see docs/BENCHMARKS.md), 3 runs
#   options: --runs N  --targets ext4,fuse2fs,cardfs,cardfs-durable,cardfs-dio,passthrough-dio
#              (cardfs-durable runs sqlite only; the two -dio targets warm random reads only;
#              also passthrough,passthrough-st,passthrough-dp: libfuse's passthrough_ll (-st: one
#              thread), meta_small and tree only;
#              cardfs-base, cardfs-base-dio: the binary in $CARDFS_BASE, for before/after in one run;
#              floor: peers/floor_ll.c, a tree in memory only: meta_small, meta_large and tree;
#              cardfs-nojournal, cardfs-durable-nojournal: on mkfs -O ^journal images)
#            --workloads seqwrite,...    (see peers/workloads.sh; randwrite_wide only when named)
#            --cardfs PATH (default build/cardfs, built here unless --no-build)
#            --no-build  --out DIR  --work DIR (scratch; default under /var/tmp)
#            --step-timeout S (bound of each timed command; default 1200 full, 600 reduced, 180 quick)
#            --card-profile NAME (cardfs targets' card profile; default uhs1-u3, block FTL:
#              a1, a2 or industrial-pslc for a page-mapped card; also BENCH_CARD_PROFILE)
#            --pin same|split (where FUSE requests run: the workloads run on CPU 0 and each
#              daemon on CPU 0 too (same) or on CPU 1 (split); without it the scheduler
#              places both, and a run lands in either regime: see docs/BENCHMARKS.md)
# A target that cannot run here (cardfs without a working mount) is skipped
# with the reason in the report. Everything mounted is unmounted and every
# loop device detached on any exit; every command is time-bounded.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/scripts/bench
source "$ROOT/scripts/experiments/cardfs_lib.sh"
source "$HERE/peers/targets.sh"
source "$HERE/peers/workloads.sh"

mode=full runs="" targets="ext4,fuse2fs,cardfs,cardfs-durable,cardfs-dio,passthrough-dio" workloads="" build=1
out="" work_parent=/var/tmp cardfs_bin="" step_timeout=""
command_line="scripts/bench/run.sh $*"
all_args=("$@")
while [ $# -gt 0 ]; do
  case $1 in
    --quick) mode=quick ;;
    --reduced) mode=reduced ;;
    --runs) runs=$2; shift ;;
    --targets) targets=$2; shift ;;
    --workloads) workloads=$2; shift ;;
    --cardfs) cardfs_bin=$2; build=0; shift ;;
    --no-build) build=0 ;;
    --out) out=$2; shift ;;
    --step-timeout) step_timeout=$2; shift ;;
    --work) work_parent=$2; shift ;;
    --card-profile) BENCH_CARD_PROFILE=$2; shift ;;
    --pin) BENCH_PIN=$2; shift ;;
    -h | --help) sed -n '2,26p' "$0" | cut -c3-; exit 0 ;;
    *) echo "run.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

if [ "$mode" = quick ]; then
  BENCH_SEQ_SIZE=64M BENCH_RAND_SIZE=32M BENCH_DIRECT_SIZE=32M BENCH_RUNTIME=2
  BENCH_WIDE_SIZE=256M BENCH_WIDE_RUNTIME=2
  BENCH_META_SMALL=1000 BENCH_META_LARGE=5000 BENCH_RANDSTATS=200
  BENCH_TREE=/usr/include/linux BENCH_SQLITE_TX=500 BENCH_IMAGE_SIZE=1G
  BENCH_STEP_TIMEOUT=180 runs=${runs:-1}
elif [ "$mode" = reduced ]; then
  # The full workloads with less data and fewer large-directory files:
  # 10 000-file figures and /usr/include stay full size.
  BENCH_SEQ_SIZE=256M BENCH_RAND_SIZE=64M BENCH_DIRECT_SIZE=64M BENCH_RUNTIME=5
  BENCH_WIDE_SIZE=1G BENCH_WIDE_RUNTIME=10
  BENCH_META_SMALL=10000 BENCH_META_LARGE=20000 BENCH_RANDSTATS=1000
  BENCH_TREE=/usr/include BENCH_SQLITE_TX=2000 BENCH_IMAGE_SIZE=2G
  BENCH_STEP_TIMEOUT=600 runs=${runs:-3}
else
  BENCH_SEQ_SIZE=1G BENCH_RAND_SIZE=256M BENCH_DIRECT_SIZE=256M BENCH_RUNTIME=10
  BENCH_WIDE_SIZE=2G BENCH_WIDE_RUNTIME=10
  BENCH_META_SMALL=10000 BENCH_META_LARGE=100000 BENCH_RANDSTATS=1000
  BENCH_TREE=/usr/include BENCH_SQLITE_TX=20000 BENCH_IMAGE_SIZE=4G
  BENCH_STEP_TIMEOUT=1200 runs=${runs:-3}
fi
BENCH_STEP_TIMEOUT=${step_timeout:-$BENCH_STEP_TIMEOUT}
[[ $BENCH_STEP_TIMEOUT =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --step-timeout wants whole seconds, not '$BENCH_STEP_TIMEOUT'" >&2; exit 2; }
BENCH_CARD_PROFILE=${BENCH_CARD_PROFILE:-uhs1-u3}
BENCH_PIN=${BENCH_PIN:-}
case $BENCH_PIN in
  "" | same) ;;
  split) [ "$(getconf _NPROCESSORS_ONLN)" -ge 2 ] || { echo "run.sh: --pin split needs 2 CPUs, this machine has $(getconf _NPROCESSORS_ONLN)" >&2; exit 2; } ;;
  *) echo "run.sh: --pin wants same or split, not '$BENCH_PIN'" >&2; exit 2 ;;
esac
# Pinned: this script and so every workload on CPU 0 (daemons are moved
# after they mount, tgt_pin).
if [ -n "$BENCH_PIN" ] && [ "${CARDFS_BENCH_PINNED:-}" != 1 ]; then
  CARDFS_BENCH_PINNED=1 exec taskset -c 0 "$0" "${all_args[@]}"
fi
CARDFS_DURABLE_OPTION=${CARDFS_DURABLE_OPTION:-durable}
workloads=${workloads:-${BENCH_WORKLOADS_ALL// /,}}
for w in ${workloads//,/ }; do
  declare -F "wl_$w" >/dev/null || { echo "run.sh: unknown workload '$w' (known: $BENCH_WORKLOADS_ALL $BENCH_WORKLOADS_EXTRA)" >&2; exit 2; }
done

log() { echo "[$(date +%T)] $*" | tee -a "${RESULTS:-/dev/null}/log" >&2; }

# ---- preconditions
[ "$(id -u)" -eq 0 ] || { echo "run.sh: needs root (loop devices, mounts, drop_caches)" >&2; exit 2; }
missing=()
for tool in fio fuse2fs sqlite3 mkfs.ext4 losetup fusermount3 python3 g++ numfmt timeout flock; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "run.sh: missing ${missing[*]}; run scripts/setup.sh --no-demo first" >&2
  exit 2
fi

BENCH_WORK=$(mktemp -d "$work_parent/cardfs-bench.XXXXXX")
cleanup() {
  tgt_cleanup_all
  rm -rf "$BENCH_WORK"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

stamp=$(date -u +%Y%m%d-%H%M%S)
RESULTS=${out:-$ROOT/results/bench-$stamp${mode/full/}}
RESULTS=${RESULTS%-}
mkdir -p "$RESULTS"
: >"$RESULTS/raw.tsv"; : >"$RESULTS/bounds.tsv"; : >"$RESULTS/failures.tsv"; : >"$RESULTS/skipped.tsv"

FSOPS=$BENCH_WORK/fsops
g++ -O2 -std=c++20 -o "$FSOPS" "$HERE/peers/fsops.cpp" || { log "cannot build fsops"; exit 1; }

if [ "$build" = 1 ] && [[ $targets == *cardfs* ]]; then
  log "building cardfs in build/ (only the binary)"
  { [ -f "$ROOT/build/CMakeCache.txt" ] ||
      cmake -S "$ROOT" -B "$ROOT/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo; } >>"$RESULTS/log" 2>&1 &&
    cmake --build "$ROOT/build" --target cardfs -j "$(nproc)" >>"$RESULTS/log" 2>&1 ||
    log "build failed: cardfs will be skipped"
fi
cf_init "$cardfs_bin" 2>/dev/null || CARDFS=""

# ---- which targets can run
active=()
for t in ${targets//,/ }; do
  why=$(tgt_unavailable "$t")
  if [ -n "$why" ]; then
    log "skipping $t: $why"
    printf '%s\t%s\n' "$t" "$why" >>"$RESULTS/skipped.tsv"
  else
    active+=("$t")
  fi
done
[ ${#active[@]} -gt 0 ] || { log "no target can run"; exit 1; }

cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
mem=$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
python3 - "$RESULTS/meta.json" <<EOF
import json, sys
json.dump({
  "date": "$(date -u '+%Y-%m-%d %H:%M UTC')",
  "machine": "$(getconf _NPROCESSORS_ONLN) vCPU $cpu, $mem RAM, Linux $(uname -r), backing store $(df --output=source "$work_parent" | tail -1); load average at start $(cut -d' ' -f1-3 /proc/loadavg)",
  "command": "$command_line",
  "mode": "$mode",
  "runs": $runs,
  "card_profile": "$BENCH_CARD_PROFILE",
  "pin": "${BENCH_PIN:-none}",
  "sizes": {"seq": "$BENCH_SEQ_SIZE", "rand": "$BENCH_RAND_SIZE", "direct": "$BENCH_DIRECT_SIZE",
            "runtime_s": $BENCH_RUNTIME, "meta_small": $BENCH_META_SMALL,
            "meta_large": $BENCH_META_LARGE, "randstats": $BENCH_RANDSTATS,
            "tree": "$BENCH_TREE", "sqlite_tx": $BENCH_SQLITE_TX,
            "wide": "$BENCH_WIDE_SIZE", "wide_runtime_s": $BENCH_WIDE_RUNTIME},
}, open(sys.argv[1], "w"), indent=2)
EOF

# ---- the runs: every target once per run, so drift hits them alike
# A workload that hit the step bound is not repeated in later runs (it
# would only spend the bound again); its figure is reported as a bound.
declare -A timed_out_in=()

# record_figures TARGET RUN: the "metric value" lines of $BENCH_WORK/out
# into raw.tsv, and the "metric >bound" / "metric <bound" lines of a timed
# out step into bounds.tsv.
record_figures() {
  local t=$1 r=$2 metric value
  while read -r metric value; do
    [ -n "$metric" ] || continue
    if [[ $value == [\<\>]* ]]; then
      printf '%s\t%s\t%s\t%s\n' "$t" "$r" "$metric" "$value" >>"$RESULTS/bounds.tsv"
      log "  $metric $value (timed out)"
    else
      printf '%s\t%s\t%s\t%s\n' "$t" "$r" "$metric" "$value" >>"$RESULTS/raw.tsv"
      log "  $metric $value"
    fi
  done <"$BENCH_WORK/out"
}

# image_ratios W AFTER: the image's bytes per byte the card's host wrote
# during workload W (since card_mark, $BENCH_WORK/card_before), and per
# byte its application wrote (when the workload says: app_bytes), as the
# figures "image_per_host_W" and "image_per_app_W". Counters start again at each mount: a workload that
# remounts (the cold reads) counts from its last mount. Nothing under 1 MiB
# written (the read-only workloads: a ratio of a few metadata blocks).
image_ratios() {
  local w=$1 before after=$2 app
  before=$(cat "$BENCH_WORK/card_before")
  app=$(cat "$BENCH_WORK/app_bytes" 2>/dev/null)
  awk -v w="$w" -v b="$before" -v a="$after" -v app="${app:-0}" 'BEGIN {
    split(b, x, " "); split(a, y, " ")
    if (y[2] + 0 < x[2] + 0) { x[1] = 0; x[2] = 0 }
    img = y[1] - x[1]; host = y[2] - x[2]
    if (host >= 1048576) printf "image_per_host_%s %.3f\n", w, img / host
    if (app >= 1048576 && host >= 1048576) printf "image_per_app_%s %.3f\n", w, img / app
  }'
}

run_workload() {
  local t=$1 r=$2 w=$3 rc
  if [ -n "${timed_out_in[$t $w]:-}" ]; then
    log "run $r/$runs $t $w: not repeated, it timed out in run ${timed_out_in[$t $w]}"
    return 0
  fi
  log "run $r/$runs $t $w (load $(cut -d" " -f1-3 /proc/loadavg))"
  rm -f "$BENCH_WORK/app_bytes"
  card_mark "$t"
  # In this shell, not $(...): a cold remount must update the mount records.
  "wl_$w" "$t" >"$BENCH_WORK/out" 2>"$BENCH_WORK/err"
  rc=$?
  [ $rc -eq 0 ] && [ -s "$BENCH_WORK/card_before" ] && image_ratios "$w" "$(card_bytes "$t")" >>"$BENCH_WORK/out"
  record_figures "$t" "$r"
  [ $rc -eq 0 ] && [ -s "$BENCH_WORK/out" ] && return 0
  local why
  why=$(tr '\n' ' ' <"$BENCH_WORK/err" | cut -c1-300)
  if [ $rc -eq 124 ]; then
    why="timed out after ${BENCH_STEP_TIMEOUT}s; $why"
    timed_out_in[$t $w]=$r
  fi
  log "  FAILED (exit $rc): $why"
  printf '%s\t%s\t%s\t%s\n' "$t" "$r" "$w" "exit $rc: $why" >>"$RESULTS/failures.tsv"
  return 1
}

# The passthrough metadata peers run meta_small and tree only: passthrough_ll
# holds a descriptor per cached inode, and the large directory needs more
# than the hard limit of open files allows on some machines (20 000 here;
# /usr/include has about 9 000 entries). In tree it is the FUSE round trips
# of cp -a without a filesystem of the daemon's own.
# only_of ALLOWED REQUESTED: the requested workloads that are allowed, in
# the requested order (every target runs its workloads in the same order).
only_of() {
  local w out=""
  for w in ${2//,/ }; do [[ ,$1, == *,$w,* ]] && out+="${out:+,}$w"; done
  echo "$out"
}
meta_only() { only_of meta_small,tree "$1"; }
# The floor keeps a tree in memory and nothing else: the metadata workloads
# and cp -a / du / rm -rf of a tree.
floor_only() { only_of meta_small,meta_large,tree "$1"; }

for ((r = 1; r <= runs; r++)); do
  for t in "${active[@]}"; do
    case $t in
      cardfs-durable*) wl_list=sqlite ;;
      *-dio) wl_list=randread_warm ;;
      passthrough*) wl_list=$(meta_only "$workloads") ;;
      floor) wl_list=$(floor_only "$workloads") ;;
      *) wl_list=$workloads ;;
    esac
    if ! tgt_make "$t" 2>>"$RESULTS/log"; then
      log "cannot make $t"; printf '%s\t%s\tsetup\t%s\n' "$t" "$r" "mkfs or mount failed" >>"$RESULTS/failures.tsv"
      tgt_destroy "$t" 2>/dev/null
      continue
    fi
    for w in ${wl_list//,/ }; do
      run_workload "$t" "$r" "$w" && continue
      # A failure may leave the target unmounted (a failed remount): start afresh.
      tgt_destroy "$t" 2>/dev/null
      tgt_make "$t" 2>>"$RESULTS/log" || { log "cannot remake $t"; break; }
    done
    tgt_destroy "$t" || log "unmounting $t failed"
  done
done

python3 "$HERE/peers/report.py" "$RESULTS" >/dev/null
python3 "$HERE/peers/verdict.py" "$RESULTS" >/dev/null  # issue #9's targets: verdict.md
log "results in $RESULTS (results.md, results.json)"
cat "$RESULTS/results.md"
