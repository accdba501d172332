#!/usr/bin/env bash
# The write-amplification study (as root: loop devices and mounts). The
# same workloads on cardfs and on kernel ext4, each on a fresh emulated card
# of the same profile (ext4 through `cardfs card export` + a loop device),
# measured by the card's own counters: flash bytes programmed per host byte
# written, AU merges and erases, device time; per-AU wear at the end.
#   scripts/bench/wa_study.sh            default sizes (3-4 min on a busy 2-core VM)
#   scripts/bench/wa_study.sh --quick    small sizes (a smoke test of 1-2 min)
#   options: --targets cardfs:class10,ext4:class10,...  (FS:PROFILE)
#            --card-size 1G  --cardfs PATH  --out DIR  --work DIR
#            --base-cardfs PATH   the binary of targets cardfs-base:PROFILE
#            --docs          also copy the plots to docs/img/
# Writes results/wa-<date>/: results.md (tables), results.json, phases.tsv,
# samples-<target>.tsv (counters every 0.5 s), wear-<target>.json, *.svg.
# Phases, in order, on one card per target, each ended by a sync of the
# whole filesystem to the card's flash: seqwrite, randwrite (after an
# unmeasured sequential fill of its file), smallfiles, tree, sqlite. fio runs
# with --fallocate=none, as in peers/workloads.sh (kept for comparability).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/scripts/bench
source "$ROOT/scripts/experiments/cardfs_lib.sh"
source "$HERE/wa/targets.sh"
source "$HERE/peers/workloads.sh"  # sqlite_script

targets="cardfs:class10,ext4:class10,cardfs:uhs1-u3,ext4:uhs1-u3"
WA_CARD_SIZE=1G out="" work_parent=/var/tmp cardfs_bin="" docs=0 quick=0 WA_BASE_CARDFS=""
command_line="scripts/bench/wa_study.sh $*"
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1 ;;
    --targets) targets=$2; shift ;;
    --card-size) WA_CARD_SIZE=$2; shift ;;
    --cardfs) cardfs_bin=$2; shift ;;
    --base-cardfs) WA_BASE_CARDFS=$(readlink -f "$2"); shift ;;
    --out) out=$2; shift ;;
    --work) work_parent=$2; shift ;;
    --docs) docs=1 ;;
    -h | --help) sed -n '2,19p' "$0" | cut -c3-; exit 0 ;;
    *) echo "wa_study.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if [ "$quick" = 1 ]; then
  WA_SEQ=32M WA_RAND=16M WA_RAND_IOS=1024 WA_FILES=1000 WA_FILE_BYTES=1024
  WA_TREE=/usr/include/linux WA_SQLITE_TX=100 WA_CARD_SIZE=256M
else
  WA_SEQ=256M WA_RAND=64M WA_RAND_IOS=8192 WA_FILES=10000 WA_FILE_BYTES=1024
  WA_TREE=/usr/include WA_SQLITE_TX=1000
fi
WA_PHASES="seqwrite randwrite smallfiles tree sqlite"
STEP_TIMEOUT=900

[ "$(id -u)" -eq 0 ] || { echo "wa_study.sh: needs root (loop devices, mounts)" >&2; exit 2; }
for tool in fio sqlite3 mkfs.ext4 losetup fusermount3 python3 gnuplot g++ timeout; do
  command -v "$tool" >/dev/null || { echo "wa_study.sh: missing $tool; run scripts/setup.sh --no-demo" >&2; exit 2; }
done
cf_init "$cardfs_bin" || exit 2

WA_WORK=$(mktemp -d "$work_parent/cardfs-wa.XXXXXX")
SAMPLER=""
cleanup() {
  [ -z "$SAMPLER" ] || { kill "$SAMPLER" 2>/dev/null; wait "$SAMPLER" 2>/dev/null; }
  wa_cleanup_all
  rm -rf "$WA_WORK"
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM

RESULTS=${out:-$ROOT/results/wa-$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$RESULTS"
: >"$RESULTS/phases.tsv"
log() { echo "[$(date +%T)] $*" | tee -a "$RESULTS/log" >&2; }
FSOPS=$WA_WORK/fsops
g++ -O2 -std=c++20 -o "$FSOPS" "$HERE/peers/fsops.cpp" || { log "cannot build fsops"; exit 1; }
SQL=$WA_WORK/sqlite.sql
sqlite_script "$WA_SQLITE_TX" "$SQL"

bounded() { timeout -k 10 "$STEP_TIMEOUT" "$@"; }

# ---- the workloads: phase_NAME MNT (prep_NAME MNT runs before the first
# snapshot, so its writes are not counted in the phase)
prep_randwrite() {
  bounded fio --fallocate=none --output-format=terse --ioengine=psync --name=fill --rw=write --bs=1M \
    --size="$WA_RAND" --end_fsync=1 --filename="$1/rand" >/dev/null
}
phase_seqwrite() {
  bounded fio --fallocate=none --output-format=terse --ioengine=psync --name=seq --rw=write --bs=1M \
    --size="$WA_SEQ" --end_fsync=1 --filename="$1/seq" >/dev/null
}
phase_randwrite() {
  bounded fio --fallocate=none --output-format=terse --ioengine=psync --name=rand --rw=randwrite --bs=4k \
    --size="$WA_RAND" --fsync=32 --number_ios="$WA_RAND_IOS" --randseed=20261121 \
    --filename="$1/rand" >/dev/null
}
phase_smallfiles() { mkdir "$1/small" && bounded "$FSOPS" write "$1/small" "$WA_FILES" "$WA_FILE_BYTES" >/dev/null; }
phase_tree() { bounded cp -a "$WA_TREE" "$1/tree"; }
phase_sqlite() { bounded sqlite3 "$1/bench.db" <"$SQL" >/dev/null; }

# snap TARGET PHASE EDGE: every card counter now, one row each.
snap() {
  local t=$1 phase=$2 edge=$3 now=$EPOCHREALTIME
  awk -v t="$t" -v p="$phase" -v e="$edge" -v w="$now" '{ printf "%s\t%s\t%s\t%s\t%s\t%s\n", t, p, e, w, $1, $2 }' \
    "$(wa_stat "$t")" >>"$RESULTS/phases.tsv"
}

# The sampler: device time, host and flash bytes every 0.5 s, with the
# phase running (written to $WA_WORK/phase by run_target).
start_sampler() {
  local t=$1 stat file
  stat=$(wa_stat "$t"); file=$RESULTS/samples-$(wa_key "$t").tsv
  echo -e "wall\tphase\tdevice_time_ns\thost_sectors_written\tflash_bytes_programmed\tmerges\terases" >"$file"
  (
    while :; do
      awk -v w="$EPOCHREALTIME" -v p="$(cat "$WA_WORK/phase" 2>/dev/null)" '
        { v[$1] = $2 }
        END { printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", w, p, v["card.device_time_ns"], v["card.host_sectors_written"],
              v["card.flash_bytes_programmed"], v["card.merges"], v["card.erases"] }' "$stat" >>"$file" 2>/dev/null
      sleep 0.5
    done
  ) &
  SAMPLER=$!
}

stop_sampler() {
  [ -n "$SAMPLER" ] || return 0
  kill "$SAMPLER" 2>/dev/null; wait "$SAMPLER" 2>/dev/null
  SAMPLER=""
}

run_target() {
  local t=$1 mnt p
  mnt=$(wa_mnt "$t")
  log "$t: fresh card ($WA_CARD_SIZE) and filesystem"
  wa_make "$t" 2>>"$RESULTS/log" || { log "$t: cannot make it (see log)"; wa_destroy "$t" 2>/dev/null; return 1; }
  wa_sync "$t"
  echo start >"$WA_WORK/phase"
  start_sampler "$t"
  for p in $WA_PHASES; do
    if declare -F "prep_$p" >/dev/null; then
      echo "prep_$p" >"$WA_WORK/phase"
      "prep_$p" "$mnt" 2>>"$RESULTS/log" && wa_sync "$t" || { log "$t: prep of $p failed"; break; }
    fi
    echo "$p" >"$WA_WORK/phase"
    snap "$t" "$p" start
    log "$t: $p"
    "phase_$p" "$mnt" 2>>"$RESULTS/log" && wa_sync "$t" || { log "$t: $p failed"; break; }
    snap "$t" "$p" end
  done
  stop_sampler
  wa_destroy "$t" 2>>"$RESULTS/log" || log "$t: unmounting failed"
  timeout -k 5 120 "$CARDFS" card info "$(wa_img "$t")" --json >"$RESULTS/wear-$(wa_key "$t").json" ||
    log "$t: card info failed"
  [ "$(wa_fs "$t")" != ext4 ] || cp "$(wa_exp "$t").counters" "$RESULTS/export-$(wa_key "$t").counters"
  rm -f "$(wa_img "$t")"
}

python3 - "$RESULTS/meta.json" <<EOF
import json, sys
json.dump({
  "date": "$(date -u '+%Y-%m-%d %H:%M UTC')",
  "machine": "$(nproc) vCPU $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), Linux $(uname -r); load average at start $(cut -d' ' -f1-3 /proc/loadavg)",
  "command": "$command_line",
  "commit": "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)",
  "card_size": "$WA_CARD_SIZE", "targets": "$targets",
  "sizes": {"seq": "$WA_SEQ", "rand_file": "$WA_RAND", "rand_ios": $WA_RAND_IOS, "files": $WA_FILES,
            "file_bytes": $WA_FILE_BYTES, "tree": "$WA_TREE", "sqlite_tx": $WA_SQLITE_TX},
}, open(sys.argv[1], "w"), indent=2)
EOF
for t in ${targets//,/ }; do run_target "$t"; done

python3 "$HERE/wa/report.py" "$RESULTS" || { log "report failed"; exit 1; }
(cd "$RESULTS" && gnuplot plots.gp) 2>>"$RESULTS/log" || log "gnuplot failed (see log)"
if [ "$docs" = 1 ]; then
  mkdir -p "$ROOT/docs/img"
  cp "$RESULTS"/wa_*.svg "$ROOT/docs/img/"
fi
log "results in $RESULTS"
cat "$RESULTS/results.md"
