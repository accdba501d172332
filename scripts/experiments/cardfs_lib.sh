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
#   cf_cleanup_all                     unmounts whatever cf_mount mounted

CF_MOUNTS=()  # "dir|image|pid"

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

cf_is_mounted() { grep -q " $(readlink -f "$1") fuse" /proc/self/mounts; }

cf_image_locked() { ! flock -n -x "$1" true 2>/dev/null; }

# Waits (bounded) until no daemon holds the image: write-back is finished.
cf_wait_unlocked() {
  local image=$1 secs=${2:-120} i
  for ((i = 0; i < secs * 10; i++)); do
    cf_image_locked "$image" || return 0
    sleep 0.1
  done
  return 1
}

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
  CF_MOUNTS+=("$dir|$image|$(cat "$dir/.cardfs/pid" 2>/dev/null)")
}

cf_forget() {
  local keep=() m
  for m in ${CF_MOUNTS[@]+"${CF_MOUNTS[@]}"}; do [[ ${m%%|*} == "$1" ]] || keep+=("$m"); done
  CF_MOUNTS=(${keep[@]+"${keep[@]}"})
}

# Unmounts DIR; a daemon that has not let go of its image after the bound
# is killed (the caller hears about it through the return code).
cf_umount() {
  local dir=$1 m image="" pid="" rc=0
  for m in ${CF_MOUNTS[@]+"${CF_MOUNTS[@]}"}; do
    if [[ ${m%%|*} == "$dir" ]]; then m=${m#*|}; image=${m%%|*}; pid=${m#*|}; fi
  done
  timeout -k 5 120 fusermount3 -u "$dir" 2>/dev/null ||
    { timeout -k 5 20 fusermount3 -uz "$dir" 2>/dev/null || umount -l "$dir" 2>/dev/null; rc=1; }
  cf_forget "$dir"
  if [ -n "$image" ] && ! cf_wait_unlocked "$image" 300; then
    cf_log "the daemon of $image did not exit; killing pid $pid"
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
    rc=1
  fi
  return $rc
}

cf_cleanup_all() {
  local m
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
