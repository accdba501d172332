# shellcheck shell=bash
# cardfs_lib.sh: how the experiments and the benchmark drive the cardfs
# binary — make an image, mount it, read its control files, unmount it with
# every wait bounded. One place to follow the CLI as it changes.
# Source it, then call cf_init [CARDFS_BINARY]; it does not set traps:
# the caller's EXIT trap calls cf_cleanup_all.
#   cf_init [BIN]                      find the binary ($CARDFS, build/cardfs)
#   cf_has_command NAME                the binary has that subcommand
#   cf_mkfs IMAGE SIZE PROFILE [ARGS]  a fresh card image with a filesystem
#   cf_mount IMAGE DIR [-o OPTS]...    mounts (bounded), remembers it
#   cf_umount DIR                      unmounts, waits for the daemon to exit
#   cf_stat DIR NAME                   one counter of .cardfs/stat ("card.commands")
#   cf_ctl_write DIR FILE VALUE        writes a control file (.cardfs/FILE)
#   cf_mount_probe WORKDIR             0 when mkfs+mount+write+umount work;
#                                      else prints why on stdout, returns 1
#   cf_export IMAGE DIR [--realtime]   `cardfs card export`: the raw card as DIR/card,
#                                      its live counters in DIR/stat (bounded wait)
#   cf_unexport DIR                    unmounts it, waits for the export to close the
#                                      card; its exit report (counters) is in DIR.counters
#   cf_cleanup_all                     unmounts whatever cf_mount and cf_export mounted

source "$(dirname "${BASH_SOURCE[0]}")/../lib/mounts.sh"

CF_MOUNTS=()   # "dir|image|pid"
CF_EXPORTS=()  # "dir|pid" of `cardfs card export` daemons

cf_log() { echo "[$(date +%T)] $*" >&2; }

cf_init() {
  local root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  CARDFS=${1:-${CARDFS:-$root/build/cardfs}}
  [ -x "$CARDFS" ] || { cf_log "no cardfs binary at $CARDFS (build with scripts/build.sh)"; return 1; }
  CARDFS=$(readlink -f "$CARDFS")
}

cf_has_command() {
  "$CARDFS" --help 2>/dev/null | grep -qE "^ +$1( |$)"
}

cf_is_mounted() { mnt_is_fuse "$1"; }

# mkfs.cardfs makes the card image (profile, size) and the filesystem on
# it; its report (mke2fs-like) goes to $CF_MKFS_OUT when that is set.
cf_mkfs() {
  local image=$1 size=$2 profile=$3; shift 3
  rm -f "$image"
  timeout -k 5 300 "$CARDFS" mkfs --profile "$profile" --size "$size" "$@" "$image" \
    >"${CF_MKFS_OUT:-/dev/null}"
}

cf_mount() {
  local image=$1 dir=$2; shift 2
  mkdir -p "$dir"
  timeout -k 5 60 "$CARDFS" mount "$image" "$dir" "$@" || return 1
  cf_is_mounted "$dir" || { cf_log "cardfs mount returned 0 but $dir is not mounted"; return 1; }
  CF_MOUNTS+=("$dir|$image|$(mnt_daemon_pid "$dir")")
}

# Unmounts DIR; a daemon that has not let go of its image after the bound
# is killed (the caller hears about it through the return code).
cf_umount() {
  local dir=$1 image pid rc=0
  image=$(mnt_field CF_MOUNTS "$dir" 2); pid=$(mnt_field CF_MOUNTS "$dir" 3)
  mnt_force_unmount "$dir" 120 || rc=1
  mnt_forget CF_MOUNTS "$dir"
  if [ -n "$image" ] && ! mnt_wait_unlocked "$image" 300; then
    cf_log "the daemon of $image did not exit; killing pid $pid"
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
    rc=1
  fi
  return $rc
}

cf_export() {
  local image=$1 dir=${2%/} pid i; shift 2
  mkdir -p "$dir"
  # -f: this shell holds the pid and the exit report (the counters).
  "$CARDFS" card export -f "$image" "$dir" "$@" >"$dir.counters" 2>"$dir.log" &
  pid=$!
  CF_EXPORTS+=("$dir|$pid")
  for ((i = 0; i < 300; i++)); do
    [ -e "$dir/card" ] && grep -q " $dir fuse" /proc/self/mounts && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  cf_log "card export of $image did not come up: $(cat "$dir.log")"
  return 1
}

# Unmounts an export and waits (bounded) for its daemon to close the card;
# a daemon still running after two minutes is killed (and reported).
cf_unexport() {
  local dir=${1%/} pid i
  pid=$(mnt_field CF_EXPORTS "$dir" 2)
  mnt_forget CF_EXPORTS "$dir"
  mnt_force_unmount "$dir" 60
  [ -n "$pid" ] || return 0
  for ((i = 0; i < 1200; i++)); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid"; return; }
    sleep 0.1
  done
  cf_log "card export $pid did not exit; killing it"
  kill -9 "$pid" 2>/dev/null
  return 1
}

cf_cleanup_all() {
  local m
  for m in ${CF_EXPORTS[@]+"${CF_EXPORTS[@]}"}; do cf_unexport "${m%%|*}" || true; done
  for m in ${CF_MOUNTS[@]+"${CF_MOUNTS[@]}"}; do
    cf_log "cleanup: unmounting ${m%%|*}"
    cf_umount "${m%%|*}" || true
  done
}

cf_stat() {
  awk -v k="$2" '$1 == k { print $2; found = 1 } END { if (!found) exit 1 }' "$1/.cardfs/stat"
}

cf_ctl_write() {
  printf '%s\n' "$3" >"$1/.cardfs/$2"
}

cf_mount_probe() {
  local work=$1 out
  for cmd in mkfs mount; do
    cf_has_command "$cmd" || { echo "needs 'cardfs $cmd' (not in this build)"; return 1; }
  done
  mkdir -p "$work"
  out=$(cf_mkfs "$work/probe.img" 64M class10 2>&1) || { echo "cardfs mkfs failed: $out"; return 1; }
  out=$(cf_mount "$work/probe.img" "$work/probe.mnt" 2>&1) || { echo "cardfs mount failed: $out"; return 1; }
  if ! echo probe >"$work/probe.mnt/probe" || [ ! -r "$work/probe.mnt/.cardfs/stat" ]; then
    cf_umount "$work/probe.mnt"
    echo "the mount does not take a write or has no .cardfs/stat"
    return 1
  fi
  cf_umount "$work/probe.mnt" || { echo "cardfs did not unmount cleanly"; return 1; }
  rm -rf "$work/probe.img" "$work/probe.mnt"
}
