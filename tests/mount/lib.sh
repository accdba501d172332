# Shared harness of the mount tests: bounded waits, and every mount this
# test made is unmounted on exit, whatever happened (fusermount3 -u, then a
# lazy unmount, then SIGKILL of the daemon that still holds the image).
# Usage in a test:  source lib.sh CARDFS [MAKE_IMAGE]; ... ; mt_pass
#   mt_make_image IMAGE SIZE_MB                 a card image with a fresh cardfs
#   mt_mount IMAGE DIR [cardfs mount args...]   mounts, fails the test on error
#   mt_umount DIR                               clean unmount, waits for the daemon to exit
#   check "what" command...                     runs a bounded command, records failures
set -u
# The mount primitives shared with the experiments and benchmarks.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/mounts.sh"
CARDFS=$(readlink -f "$1")
MT_MAKE_IMAGE=${2:+$(readlink -f "$2")}
MT_TMP=$(mktemp -d /tmp/cardfs-mount-test.XXXXXX)
MT_MOUNTS=()
MT_FAILS=0
MT_STEP_TIMEOUT=${MT_STEP_TIMEOUT:-120}

mt_log() { echo "[$(date +%T)] $*"; }

# Runs a command with a time bound; kills it (and waits 5 s more) if it hangs.
mt_bounded() {
  local secs=$1; shift
  timeout -k 5 "$secs" "$@"
}

mt_is_mounted() { mnt_is_fuse "$1" "fuse.cardfs "; }

# The daemon's pid, from its control directory (empty when not mounted).
mt_daemon_pid() { mnt_daemon_pid "$1"; }

mt_image_locked() { mnt_image_locked "$1"; }

mt_mount() {
  local image=$1 dir=$2; shift 2
  mt_bounded 60 "$CARDFS" mount "$image" "$dir" "$@" || { mt_fail "mount $image $dir $*"; return 1; }
  MT_MOUNTS+=("$dir|$image|$(mt_daemon_pid "$dir")")
  mt_is_mounted "$dir" || { mt_fail "mount returned 0 but $dir is not mounted"; return 1; }
}

# Waits (bounded) until no daemon holds the image lock: write-back is done.
mt_wait_unlocked() { mnt_wait_unlocked "$1" "${2:-60}"; }

mt_forget_mount() { mnt_forget MT_MOUNTS "$1"; }

mt_image_of() { mnt_field MT_MOUNTS "$1" 2; }

mt_umount() {
  local dir=$1 image
  image=$(mt_image_of "$dir")
  mt_bounded 60 fusermount3 -u "$dir" || { mt_fail "fusermount3 -u $dir"; return 1; }
  mt_forget_mount "$dir"
  [ -z "$image" ] || mt_wait_unlocked "$image" 120 || { mt_fail "daemon of $image did not exit"; return 1; }
}

# Kills the daemon as a crash would (kill -9), then clears the dead mount.
mt_kill9() {
  local dir=$1 pid image
  pid=$(mt_daemon_pid "$dir")
  image=$(mt_image_of "$dir")
  [ -n "$pid" ] && kill -9 "$pid"
  mt_bounded 30 fusermount3 -uz "$dir" 2>/dev/null || umount -l "$dir" 2>/dev/null
  mt_forget_mount "$dir"
  [ -z "$image" ] || mt_wait_unlocked "$image" 30
}

mt_cleanup() {
  local m dir image pid
  for m in ${MT_MOUNTS[@]+"${MT_MOUNTS[@]}"}; do
    dir=${m%%|*}; m=${m#*|}; image=${m%%|*}; pid=${m#*|}
    mt_log "cleanup: unmounting $dir"
    mnt_force_unmount "$dir" 30
    if ! mt_wait_unlocked "$image" 30 && [ -n "$pid" ]; then
      mt_log "cleanup: daemon $pid still holds $image, killing it"
      kill -9 "$pid" 2>/dev/null
    fi
  done
  rm -rf "$MT_TMP"
}
trap mt_cleanup EXIT
trap 'mt_log "interrupted"; exit 1' INT TERM

# A formatted card image: `cardfs mkfs` when this build has it, else the
# test helper that runs the same library calls.
mt_make_image() {
  local image=$1 mb=$2
  if "$CARDFS" mkfs --help >/dev/null 2>&1; then
    mt_bounded 300 "$CARDFS" mkfs --profile class10 --size "${mb}M" "$image" >/dev/null
  else
    mt_bounded 300 "$MT_MAKE_IMAGE" "$image" "$mb" class10
  fi
}

mt_fail() { mt_log "FAIL: $*"; MT_FAILS=$((MT_FAILS + 1)); }

# check "description" command...: a bounded step whose failure is recorded.
# Shell functions of this harness bound their own waits.
check() {
  local what=$1; shift
  local run=(mt_bounded "$MT_STEP_TIMEOUT")
  [ "$(type -t "$1")" = function ] && run=()
  if "${run[@]}" "$@"; then mt_log "ok: $what"; else mt_fail "$what (exit $?)"; fi
}

mt_pass() {
  if [ "$MT_FAILS" -ne 0 ]; then mt_log "$MT_FAILS step(s) failed"; exit 1; fi
  mt_log "all steps passed"
  exit 0
}

# mt_fresh_mount MB: sets image and mnt, makes a fresh MB-MiB image there and
# mounts it; a failed mount ends the test with the failures so far.
mt_fresh_mount() {
  image=$MT_TMP/card.img
  mnt=$MT_TMP/mnt
  mkdir "$mnt"
  check "make image" mt_make_image "$image" "$1"
  mt_mount "$image" "$mnt" || mt_pass
}
