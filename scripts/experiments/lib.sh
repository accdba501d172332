# shellcheck shell=bash
# lib.sh: the harness of the seed experiments (source it with the cardfs
# binary as $1). Each experiment script checks observations and prints one
# table row per check:
#   | experiment | expected | observed | PASS/FAIL/SKIP |
# Rows also go to $EX_TABLE when the runner sets it. Exit status of a
# script: 0 all passed, 1 any failed, 77 nothing could run (ctest SKIP).
# Every mount is unmounted on exit, whatever happened; every step bounded.
#   ex_check NAME EXPECTED OBSERVED CONDITION...   a row; PASS when CONDITION (a quick command) succeeds
#   ex_skip NAME EXPECTED WHY                      a row that could not run
#   ex_need_mount                                  skip the rest (exit 77 unless rows ran) without a working mount
#   ex_fresh PROFILE SIZE [mount args]             mkfs + mount at $MNT (image $IMG)
#   ex_remount [mount args]                        unmount, mount again (cold cache)
#   ex_trace_start NAME / ex_trace_stop            a queue trace into $EX_TMP/NAME.blktrace.*
#   ex_blkparse NAME                               the trace as text, by the real blkparse (file path on stdout)
#   ex_counter NAME                                a counter of .cardfs/stat ("card.host_sectors_written")
set -u
EX_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$EX_DIR/cardfs_lib.sh"
EX_TOOL="python3 $EX_DIR/trace_tool.py"
EX_FAILS=0 EX_PASSES=0 EX_SKIPS=0 EX_KNOWN=0
EX_STEP_TIMEOUT=${EX_STEP_TIMEOUT:-300}
EX_TMP=$(mktemp -d "${TMPDIR:-/tmp}/cardfs-exp.XXXXXX")
IMG=$EX_TMP/card.img
MNT=$EX_TMP/mnt

ex_cleanup() {
  cf_cleanup_all
  rm -rf "$EX_TMP"
}
trap ex_cleanup EXIT
trap 'cf_log "interrupted"; exit 1' INT TERM

if ! cf_init "${1:-}"; then
  echo "| ${EX_NAME:-experiment} | a cardfs binary | none | SKIP |"
  exit 77
fi

ex_row() {
  local line="| $1 | $2 | $3 | $4 |"
  echo "$line"
  [ -z "${EX_TABLE:-}" ] || echo "$line" >>"$EX_TABLE"
}

ex_check() {
  local name=$1 expected=$2 observed=$3; shift 3
  if "$@"; then
    ex_row "$name" "$expected" "$observed" PASS; EX_PASSES=$((EX_PASSES + 1))
  else
    ex_row "$name" "$expected" "$observed" FAIL; EX_FAILS=$((EX_FAILS + 1))
  fi
}

# ex_check_known ISSUE NAME EXPECTED OBSERVED CONDITION...
# A check the code is known to fail today, for the reason ISSUE (a short
# phrase that docs/experiments.md explains). It still runs and prints what
# it observed: "KNOWN FAIL (ISSUE)" while it fails, which does not fail the
# script, and "PASS (known failure fixed: drop the mark)" once it passes.
ex_check_known() {
  local issue=$1 name=$2 expected=$3 observed=$4; shift 4
  if "$@"; then
    ex_row "$name" "$expected" "$observed" "PASS (known failure fixed: drop the mark)"
    EX_PASSES=$((EX_PASSES + 1))
  else
    ex_row "$name" "$expected" "$observed" "KNOWN FAIL ($issue)"
    EX_KNOWN=$((EX_KNOWN + 1))
  fi
}

ex_skip() {
  ex_row "$1" "$2" "skipped: $3" SKIP
  EX_SKIPS=$((EX_SKIPS + 1))
}

ex_fail_step() {
  ex_row "$1" "$2" "step failed: $3" FAIL
  EX_FAILS=$((EX_FAILS + 1))
}

ex_end() {
  cf_log "$EX_PASSES passed, $EX_FAILS failed, $EX_SKIPS skipped, $EX_KNOWN known failures"
  [ "$EX_FAILS" -eq 0 ] || exit 1
  [ "$EX_PASSES" -gt 0 ] || exit 77
  exit 0
}

# Skips every row named in "$@" and ends the script when cardfs cannot mount.
ex_need_mount() {
  local why
  why=$(cf_mount_probe "$EX_TMP/probe") && return 0
  local row
  for row in "$@"; do ex_skip "$row" "as in the article (docs/experiments.md)" "needs cardfs mount: $why"; done
  ex_end
}

# Arithmetic helpers for conditions: ex_le A B, ex_ge A B, ex_eq A B, ex_between X LO HI.
ex_le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }
ex_ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }
ex_eq() { [ "$1" = "$2" ]; }
ex_between() { ex_ge "$1" "$2" && ex_le "$1" "$3"; }

ex_fresh() {
  local profile=$1 size=$2; shift 2
  [ ! -d "$MNT" ] || ! cf_is_mounted "$MNT" || cf_umount "$MNT"
  cf_mkfs "$IMG" "$size" "$profile" ${EX_MKFS_ARGS[@]+"${EX_MKFS_ARGS[@]}"} || { cf_log "mkfs of a $size $profile card failed"; return 1; }
  EX_MOUNT_ARGS=("$@")
  cf_mount "$IMG" "$MNT" "$@"
}

ex_remount() {
  [ $# -eq 0 ] || EX_MOUNT_ARGS=("$@")
  cf_umount "$MNT" || return 1
  sync
  echo 3 >/proc/sys/vm/drop_caches 2>/dev/null
  cf_mount "$IMG" "$MNT" ${EX_MOUNT_ARGS[@]+"${EX_MOUNT_ARGS[@]}"}
}

ex_counter() { cf_stat "$MNT" "$1"; }

ex_trace_start() { cf_ctl_write "$MNT" trace "start $EX_TMP/$1"; }
ex_trace_stop() { cf_ctl_write "$MNT" trace stop; }

# The trace as text by the real blkparse; also checks that `cardfs trace`
# agrees on the completions (the two readers of one binary format).
ex_blkparse() {
  local name=$1 text=$EX_TMP/$1.txt
  timeout -k 5 60 blkparse -D "$EX_TMP" -i "$name" >"$text" 2>"$EX_TMP/$name.err" || {
    cf_log "blkparse failed: $(cat "$EX_TMP/$name.err")"; return 1; }
  timeout -k 5 60 "$CARDFS" trace "$EX_TMP/$name" >"$EX_TMP/$name.cardfs.txt" 2>&1 || {
    cf_log "cardfs trace failed: $(head -3 "$EX_TMP/$name.cardfs.txt")"; return 1; }
  if ! diff -q <($EX_TOOL select "$text" -a C) <($EX_TOOL select "$EX_TMP/$name.cardfs.txt" -a C) >/dev/null; then
    cf_log "blkparse and cardfs trace disagree on the completions of $name"
    return 1
  fi
  echo "$text"
}

# Sizes (sectors) of the events of one action inside a sector range, in order.
ex_sizes() {
  local text=$1 action=$2 start=$3 len=$4
  $EX_TOOL select "$text" -a "$action" --range "$start" "$len" | awk '{ printf "%s%s", sep, $5; sep = " " }'
}

ex_count() {
  local text=$1 action=$2 start=$3 len=$4
  $EX_TOOL select "$text" -a "$action" --range "$start" "$len" | wc -l
}
