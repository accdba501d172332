# shellcheck shell=bash
# mounts.sh: what every script that mounts cardfs needs, in one place —
# sourced by scripts/experiments/cardfs_lib.sh (experiments, benchmarks)
# and tests/mount/lib.sh (the mount tests). Every wait is bounded.
#   mnt_is_fuse DIR [TYPE]        DIR is a FUSE mount (of TYPE, e.g. fuse.cardfs)
#   mnt_daemon_pid DIR            the cardfs daemon's pid, from DIR/.cardfs/pid (empty if none)
#   mnt_image_locked IMAGE        a daemon holds IMAGE's lock
#   mnt_wait_unlocked IMAGE SECS  waits until none does (its write-back is done); 1 after SECS
#   mnt_force_unmount DIR SECS    fusermount3 -u (bounded), else -uz, else umount -l;
#                                 returns 1 when the clean unmount failed
#   mnt_forget ARRAY DIR          drops DIR's "DIR|..." entry from the named array
#   mnt_field ARRAY DIR N         field N (1: DIR, 2: image, 3: pid) of DIR's entry
#   mnt_release_loops ARRAY MNT_FN  for each "NAME|/dev/loopN" entry: unmount $(MNT_FN NAME)
#                                 (lazily if need be), detach the loop; empties ARRAY

mnt_is_fuse() { grep -q " $(readlink -f "$1") ${2:-fuse}" /proc/self/mounts; }

mnt_daemon_pid() { cat "$1/.cardfs/pid" 2>/dev/null || true; }

mnt_image_locked() { ! flock -n -x "$1" true 2>/dev/null; }

mnt_wait_unlocked() {
  local image=$1 secs=$2 i
  for ((i = 0; i < secs * 10; i++)); do
    mnt_image_locked "$image" || return 0
    sleep 0.1
  done
  return 1
}

mnt_force_unmount() {
  local dir=$1 secs=$2
  timeout -k 5 "$secs" fusermount3 -u "$dir" 2>/dev/null && return 0
  timeout -k 5 20 fusermount3 -uz "$dir" 2>/dev/null || umount -l "$dir" 2>/dev/null
  return 1
}

mnt_forget() {
  local -n _mnt_list=$1
  local keep=() m
  for m in ${_mnt_list[@]+"${_mnt_list[@]}"}; do [[ ${m%%|*} == "$2" ]] || keep+=("$m"); done
  _mnt_list=(${keep[@]+"${keep[@]}"})
}

mnt_field() {
  local -n _mnt_list=$1
  local m
  for m in ${_mnt_list[@]+"${_mnt_list[@]}"}; do
    [[ ${m%%|*} == "$2" ]] && { cut -d'|' -f"$3" <<<"$m"; return; }
  done
}

mnt_release_loops() {
  local -n _mnt_list=$1
  local m dir
  for m in ${_mnt_list[@]+"${_mnt_list[@]}"}; do
    dir=$("$2" "${m%%|*}")
    umount "$dir" 2>/dev/null || umount -l "$dir" 2>/dev/null
    losetup -d "${m#*|}" 2>/dev/null
  done
  _mnt_list=()
}
