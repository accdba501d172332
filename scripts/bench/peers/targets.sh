# shellcheck shell=bash
# targets.sh: the filesystems scripts/bench/run.sh compares, each behind the
# same four functions (sourced by run.sh; needs cardfs_lib.sh sourced first).
#   tgt_make NAME           fresh image of $BENCH_IMAGE_SIZE, mounted at $BENCH_WORK/NAME.mnt
#   tgt_cold NAME           unmount, drop the host's caches, mount again
#   tgt_drop_dentries NAME  forget dentries and inodes (kernel; FUSE lookups go to the daemon)
#   tgt_destroy NAME        unmount and delete the image
# Targets: ext4 (kernel ext4 on a loop device), fuse2fs (the same ext4
# image format through fuse2fs), cardfs (fast mode), cardfs-durable (the
# card's flush also fsyncs the image, as ext4 on a loop device does),
# cardfs-dio (cardfs -o direct_io) and passthrough-dio (libfuse3's
# passthrough_ll example from libfuse3-dev, cache=never: every read one
# FUSE round trip to a host file — the bound -o direct_io is measured by);
# passthrough and passthrough-dp (the same example with cache=always, i.e.
# entries and attributes cached as long as cardfs caches them, over a host
# directory; -dp adds default_permissions as cardfs mounts): the FUSE
# round trips a metadata operation needs and little else, the bound for
# create/stat/unlink with and without the kernel's permission checks;
# passthrough-st: passthrough with -s, one thread as cardfs serves;
# cardfs-base: cardfs from the binary $CARDFS_BASE (another build, for a
# before/after comparison within one run; cardfs-base-dio: the same with
# -o direct_io, cardfs-dio's before); floor: peers/floor_ll.c, a
# low-level FUSE daemon keeping a tree in memory and nothing else (cardfs's
# timeouts, capabilities and one thread; names, attributes, bytes,
# symlinks, xattrs as cardfs answers them): the FUSE transport's own cost,
# the floor of create/stat/unlink, lookups, cp -a and rm -rf on this machine.
# Every mount, loop device and daemon is recorded so that tgt_cleanup_all
# (run from run.sh's EXIT trap) undoes it; every wait is bounded.

TGT_LOOPS=()     # "name|/dev/loopN"
TGT_DAEMONS=()   # "name|pid" of fuse2fs and passthrough_ll
PASSTHROUGH_SRC=/usr/share/doc/libfuse3-dev/examples/passthrough_ll.c
FLOOR_SRC=("$(dirname "${BASH_SOURCE[0]}")"/floor_{ll,xattr}.c)

tgt_mnt() { echo "$BENCH_WORK/$1.mnt"; }
tgt_img() { echo "$BENCH_WORK/$1.img"; }

tgt_drop_host_caches() {
  sync
  echo 3 >/proc/sys/vm/drop_caches
}

tgt_drop_dentries() {
  echo 2 >/proc/sys/vm/drop_caches
}

# ---- kernel ext4 on a loop device
ext4_mount() {
  local name=$1 dev
  dev=$(losetup -f --show "$(tgt_img "$name")") || return 1
  TGT_LOOPS+=("$name|$dev")
  mount -t ext4 "$dev" "$(tgt_mnt "$name")"
}

ext4_umount() {
  local name=$1 m keep=()
  timeout -k 5 300 umount "$(tgt_mnt "$name")" || return 1
  for m in ${TGT_LOOPS[@]+"${TGT_LOOPS[@]}"}; do
    if [[ ${m%%|*} == "$name" ]]; then losetup -d "${m#*|}"; else keep+=("$m"); fi
  done
  TGT_LOOPS=(${keep[@]+"${keep[@]}"})
}

# ---- FUSE daemons (fuse2fs, passthrough_ll): run in the foreground under
# our own pid, so that the exit (fuse2fs writes back when unmounted) can
# be awaited and the daemon killed alone. daemon_start NAME CMD...
daemon_start() {
  local name=$1 mnt i pid; shift
  mnt=$(tgt_mnt "$name")
  "$@" >"$BENCH_WORK/$name.daemon.log" 2>&1 &
  pid=$!
  TGT_DAEMONS+=("$name|$pid")
  for ((i = 0; i < 300; i++)); do
    grep -q " $mnt fuse" /proc/self/mounts && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "$1 did not mount $mnt: $(cat "$BENCH_WORK/$name.daemon.log")" >&2
  return 1
}

fuse2fs_mount() { daemon_start "$1" fuse2fs "$(tgt_img "$1")" "$(tgt_mnt "$1")" -f -o rw; }

passthrough_mount() {
  local opts=cache=never single=()
  case $1 in
    passthrough) opts=cache=always ;;
    passthrough-st) opts=cache=always single=(-s) ;;
    passthrough-dp) opts=cache=always,default_permissions ;;
  esac
  mkdir -p "$BENCH_WORK/$1.src"
  # It holds a descriptor per inode the kernel caches: as many as allowed.
  daemon_start "$1" prlimit --nofile="$(ulimit -Hn)" "$BENCH_WORK/passthrough_ll" -f "${single[@]}" \
    -o source="$BENCH_WORK/$1.src",$opts "$(tgt_mnt "$1")"
}

floor_mount() { daemon_start "$1" "$BENCH_WORK/floor_ll" -f "$(tgt_mnt "$1")"; }

daemon_umount() {
  local name=$1 pid="" i
  pid=$(mnt_field TGT_DAEMONS "$name" 2)
  mnt_forget TGT_DAEMONS "$name"
  timeout -k 5 120 fusermount3 -u "$(tgt_mnt "$name")" || fusermount3 -uz "$(tgt_mnt "$name")"
  [ -n "$pid" ] || return 0
  for ((i = 0; i < 3000; i++)); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    sleep 0.1
  done
  echo "daemon $pid of $name still running 300 s after unmount; killing it" >&2
  kill -9 "$pid" 2>/dev/null
  return 1
}

# ---- cardfs through cardfs_lib.sh
cardfs_opts() {
  case $1 in
    cardfs-durable | cardfs-durable-nojournal) echo "-o $CARDFS_DURABLE_OPTION" ;;
    cardfs-dio | cardfs-base-dio) echo "-o direct_io" ;;
    *) echo "" ;;
  esac
}

# -nojournal: the ext2-style format (mkfs -O ^journal), the journal's peer.
cardfs_mkfs_args() { case $1 in *-nojournal) echo "-O ^journal" ;; esac; }

cardfs_bin() { case $1 in cardfs-base*) echo "$CARDFS_BASE" ;; *) echo "$CARDFS" ;; esac; }

# tgt_pin NAME: with run.sh --pin split, NAME's daemon (every thread) on
# CPU 1, the workloads staying on CPU 0 (run.sh runs pinned there); with
# --pin same it inherited CPU 0 from run.sh. Kernel ext4 has no daemon.
tgt_pin() {
  local name=$1 pid=""
  [ "${BENCH_PIN:-}" = split ] || return 0
  case $name in
    ext4) return 0 ;;
    cardfs*) pid=$(mnt_field CF_MOUNTS "$(tgt_mnt "$name")" 3) ;;
    *) pid=$(mnt_field TGT_DAEMONS "$name" 2) ;;
  esac
  [ -n "$pid" ] || { echo "tgt_pin: no daemon pid for $name" >&2; return 1; }
  taskset -a -p -c 1 "$pid" >&2  # "pid N's new affinity list: 1", a line per thread, into the log
}

# ---- the common four
# shellcheck disable=SC2046  # the mount options split into words on purpose
tgt_make() {
  local name=$1 img mnt
  img=$(tgt_img "$name"); mnt=$(tgt_mnt "$name")
  rm -f "$img"; mkdir -p "$mnt"
  case $name in
    ext4 | fuse2fs)
      truncate -s "$BENCH_IMAGE_SIZE" "$img"
      mkfs.ext4 -q -F "$img" || return 1
      "${name}_mount" "$name" ;;
    passthrough*)
      rm -rf "$BENCH_WORK/$name.src"
      passthrough_mount "$name" ;;
    floor) floor_mount "$name" ;;
    cardfs*)
      CARDFS=$(cardfs_bin "$name") cf_mkfs "$img" "$BENCH_IMAGE_SIZE" "$BENCH_CARD_PROFILE" \
        $(cardfs_mkfs_args "$name") || return 1
      CARDFS=$(cardfs_bin "$name") cf_mount "$img" "$mnt" $(cardfs_opts "$name") ;;
  esac || return 1
  tgt_pin "$name"
}

tgt_unmount() {
  case $1 in
    ext4) ext4_umount "$1" ;;
    fuse2fs | passthrough* | floor) daemon_umount "$1" ;;
    cardfs*) cf_umount "$(tgt_mnt "$1")" ;;
  esac
}

tgt_cold() {
  local name=$1
  tgt_unmount "$name" || return 1
  tgt_drop_host_caches
  # shellcheck disable=SC2046
  case $name in
    ext4 | fuse2fs) "${name}_mount" "$name" ;;
    passthrough*) passthrough_mount "$name" ;;
    floor) floor_mount "$name" ;;  # names in memory: a cold mount is an empty one
    cardfs*) CARDFS=$(cardfs_bin "$name") cf_mount "$(tgt_img "$name")" "$(tgt_mnt "$name")" $(cardfs_opts "$name") ;;
  esac || return 1
  tgt_pin "$name"
}

tgt_destroy() {
  tgt_unmount "$1"
  local rc=$?
  rm -rf "$(tgt_img "$1")" "$BENCH_WORK/$1.src"
  return $rc
}

tgt_cleanup_all() {
  local m
  for m in ${TGT_DAEMONS[@]+"${TGT_DAEMONS[@]}"}; do daemon_umount "${m%%|*}" || true; done
  mnt_release_loops TGT_LOOPS tgt_mnt
  cf_cleanup_all
}

# Why a target cannot run here (empty: it can).
tgt_unavailable() {
  case $1 in
    ext4) command -v mkfs.ext4 >/dev/null && command -v losetup >/dev/null || echo "needs e2fsprogs and losetup" ;;
    fuse2fs) command -v fuse2fs >/dev/null || echo "needs fuse2fs (apt-get install fuse2fs)" ;;
    passthrough | passthrough-st | passthrough-dp | passthrough-dio)
      [ -x "$BENCH_WORK/passthrough_ll" ] ||
        gcc -O2 -o "$BENCH_WORK/passthrough_ll" "$PASSTHROUGH_SRC" $(pkg-config fuse3 --cflags --libs) 2>/dev/null ||
        echo "cannot build $PASSTHROUGH_SRC (needs libfuse3-dev)" ;;
    floor)
      [ -x "$BENCH_WORK/floor_ll" ] ||
        gcc -O2 -o "$BENCH_WORK/floor_ll" "${FLOOR_SRC[@]}" $(pkg-config fuse3 --cflags --libs) 2>/dev/null ||
        echo "cannot build ${FLOOR_SRC[*]} (needs libfuse3-dev)" ;;
    cardfs-base | cardfs-base-dio) [ -x "${CARDFS_BASE:-}" ] || echo "set CARDFS_BASE to a cardfs binary" ;;
    cardfs | cardfs-dio | cardfs-nojournal)
      if [ -z "${CARDFS:-}" ]; then echo "no cardfs binary"; return; fi
      cf_mount_probe "$BENCH_WORK/probe" ;;
    cardfs-durable | cardfs-durable-nojournal)
      local why
      why=$(tgt_unavailable cardfs) && [ -z "$why" ] || { echo "$why"; return; }
      cf_mkfs "$BENCH_WORK/durable.img" 64M "$BENCH_CARD_PROFILE" 2>/dev/null &&
        cf_mount "$BENCH_WORK/durable.img" "$BENCH_WORK/durable.mnt" -o "$CARDFS_DURABLE_OPTION" \
          >/dev/null 2>&1 || { echo "cardfs mount does not take -o $CARDFS_DURABLE_OPTION"; return; }
      cf_umount "$BENCH_WORK/durable.mnt"
      rm -f "$BENCH_WORK/durable.img" ;;
    *) echo "unknown target" ;;
  esac
}
