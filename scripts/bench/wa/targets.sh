# shellcheck shell=bash
# wa/targets.sh: the filesystems of the write-amplification study, each on
# a fresh emulated card (sourced by wa_study.sh after cardfs_lib.sh).
# A target is "FS:PROFILE" — cardfs:class10, ext4:class10, and
# cardfs-nojournal:class10 (mkfs -O ^journal, the ext2-style format), and
# cardfs-base:class10 for cardfs built from another commit ($WA_BASE_CARDFS,
# e.g. before an allocator change) — and has
#   wa_make T       card image + filesystem, mounted at $(wa_mnt T)
#   wa_stat T       the file holding the card's live counters
#   wa_sync T       everything the filesystem holds reaches the card's flash
#   wa_destroy T    unmount (and for ext4: detach the loop, end the export);
#                   the image stays for the wear read-out
# ext4 runs on the same card model through `cardfs card export` (fast mode)
# and a loop device: the kernel's ext4 with its journal, `mkfs.ext4` with
# the inode tables and journal written at mkfs (no lazy init thread
# writing behind the workloads), mounted with default options.

WA_LOOPS=()  # "target|/dev/loopN"

wa_key() { echo "${1//:/_}"; }
wa_fs() { echo "${1%%:*}"; }
wa_profile() { echo "${1#*:}"; }
wa_mnt() { echo "$WA_WORK/$(wa_key "$1").mnt"; }
wa_img() { echo "$WA_WORK/$(wa_key "$1").img"; }
wa_exp() { echo "$WA_WORK/$(wa_key "$1").card"; }

wa_make() {
  local t=$1 img mnt dev
  img=$(wa_img "$t"); mnt=$(wa_mnt "$t")
  rm -f "$img"; mkdir -p "$mnt"
  case $(wa_fs "$t") in
    cardfs | cardfs-base | cardfs-nojournal)
      local CARDFS=$CARDFS mkfs_args=()  # cf_mkfs and cf_mount run this binary
      if [ "$(wa_fs "$t")" = cardfs-base ]; then
        [ -n "${WA_BASE_CARDFS:-}" ] || { echo "wa_study: $t needs --base-cardfs PATH" >&2; return 1; }
        CARDFS=$WA_BASE_CARDFS
      fi
      [ "$(wa_fs "$t")" = cardfs-nojournal ] && mkfs_args=(-O ^journal)  # the ext2-style format
      cf_mkfs "$img" "$WA_CARD_SIZE" "$(wa_profile "$t")" "${mkfs_args[@]}" || return 1
      cf_mount "$img" "$mnt" ;;
    ext4)
      "$CARDFS" card create "$img" --profile "$(wa_profile "$t")" --size "$WA_CARD_SIZE" >/dev/null || return 1
      cf_export "$img" "$(wa_exp "$t")" || return 1
      dev=$(losetup -f --show "$(wa_exp "$t")/card") || return 1
      WA_LOOPS+=("$t|$dev")
      timeout -k 5 600 mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$dev" || return 1
      mount -t ext4 "$dev" "$mnt" ;;
    *) echo "wa_study: unknown filesystem in target '$t' (cardfs, cardfs-base, cardfs-nojournal or ext4)" >&2; return 1 ;;
  esac
}

wa_stat() {
  case $(wa_fs "$1") in
    cardfs*) echo "$(wa_mnt "$1")/.cardfs/stat" ;;
    ext4) echo "$(wa_exp "$1")/stat" ;;
  esac
}

wa_sync() {
  case $(wa_fs "$1") in
    cardfs*) cf_ctl_write "$(wa_mnt "$1")" sync 1 ;;
    ext4) timeout -k 5 600 sync -f "$(wa_mnt "$1")" ;;  # syncfs: journal commit + the card's flush
  esac
}

wa_loop_of() {
  local m
  for m in ${WA_LOOPS[@]+"${WA_LOOPS[@]}"}; do [[ ${m%%|*} == "$1" ]] && echo "${m#*|}"; done
}

wa_destroy() {
  local t=$1 rc=0 dev m keep=()
  case $(wa_fs "$t") in
    cardfs*) cf_umount "$(wa_mnt "$t")" || rc=1 ;;
    ext4)
      dev=$(wa_loop_of "$t")
      if mountpoint -q "$(wa_mnt "$t")"; then timeout -k 5 300 umount "$(wa_mnt "$t")" || rc=1; fi
      [ -z "$dev" ] || losetup -d "$dev" || rc=1
      for m in ${WA_LOOPS[@]+"${WA_LOOPS[@]}"}; do [[ ${m%%|*} == "$t" ]] || keep+=("$m"); done
      WA_LOOPS=(${keep[@]+"${keep[@]}"})
      cf_unexport "$(wa_exp "$t")" || rc=1 ;;
  esac
  return $rc
}

wa_cleanup_all() {
  mnt_release_loops WA_LOOPS wa_mnt
  cf_cleanup_all
}
