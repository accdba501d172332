#!/usr/bin/env bash
# scale_study.sh: cardfs on a large card (issue 23, item 4), beside kernel
# ext4 on a sparse image file of the same size, in one run.
#   sudo scripts/bench/scale_study.sh [--card 64G] [--runs 3] [--fill 20G]
#        [--cache-sizes 256M,64M] [--cardfs PATH] [--base PATH] [--work DIR] [--skip-fill]
# --base PATH: a second cardfs (say main's before a change) measured the same
# way in each run, as target cardfs-base, and its fill at the first cache size.
# Per run (medians of the runs, min..max):
#   mkfs      cardfs mkfs --profile uhs1-u3 --size CARD  |  mkfs.ext4 -q (lazy_itable_init, as mke2fs does)
#   mount     cardfs mount of the fresh card            |  mount -o loop
#   scan      after 256 MiB written with conv=fsync and the daemon killed
#             (kill -9), host caches dropped: `cardfs card info` (a read-only
#             open: the power-on scan) wall time and peak RSS, then the mount
# Then, once per cache size: a FILL card, cardfs mount -o cache_size=SIZE,
# dd of FILL less 1 GiB from /dev/zero into one file (bs=1M, conv=fsync), host
# caches dropped, dd of it back; the daemon's VmRSS sampled every 0.5 s, its
# VmHWM (peak) at the end: the peak against cache_size is the constant;
# also the cache's own PagePoolResident and CacheMemory (.cardfs/cache/meminfo)
# and the daemon's smaps (smaps-SIZE.txt) for what the rest is.
# Output: WORK/scale-<date>/results.md (and raw.tsv). Needs root (loop, drop_caches).
set -uo pipefail
cd "$(dirname "$0")/../.."
card=64G runs=3 fill=20G cache_sizes=256M,64M cardfs_bin=build/cardfs base_bin='' work_parent=/var/tmp skip_fill=0
while [ $# -gt 0 ]; do
  case $1 in
    --card) card=$2; shift ;;
    --runs) runs=$2; shift ;;
    --fill) fill=$2; shift ;;
    --cache-sizes) cache_sizes=$2; shift ;;
    --cardfs) cardfs_bin=$2; shift ;;
    --base) base_bin=$2; shift ;;
    --work) work_parent=$2; shift ;;
    --skip-fill) skip_fill=1 ;;
    -h | --help) sed -n '2,20p' "$0" | cut -c3-; exit 0 ;;
    *) echo "scale_study.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[ "$(id -u)" = 0 ] || { echo "scale_study.sh: needs root (loop devices, drop_caches)" >&2; exit 2; }
source scripts/experiments/cardfs_lib.sh
cf_init "$(readlink -f "$cardfs_bin")" || exit 2
work=$(mktemp -d "$work_parent/scale-study.XXXXXX")
out=$work/results
mkdir -p "$out" "$work/mnt" "$work/ext4"
raw=$out/raw.tsv
loop=""
cleanup() {
  cf_cleanup_all
  mountpoint -q "$work/ext4" && umount "$work/ext4"
  [ -n "$loop" ] && losetup -d "$loop" 2>/dev/null
  rm -f "$work"/*.img
}
trap cleanup EXIT

now() { date +%s.%N; }
# secs START: seconds since START, 3 decimals.
secs() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$raw"; cf_log "$1 $2 $3"; }
# Host caches dropped: all of them where allowed, else (a container: root
# without /proc/sys write access) the pages of the images under $work, which
# is what the next open or mount would read cold (POSIX_FADV_DONTNEED after
# a sync drops a file's clean pages).
drop_caches() {
  sync
  { echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null && return
  python3 -c 'import os, sys
for p in sys.argv[1:]:
    fd = os.open(p, os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED); os.close(fd)' "$work"/*.img
}

# cardfs_run NAME: mkfs, mount, crash and scan with $CARDFS, recorded as NAME.
cardfs_run() {
  local who=$1 img=$work/card.img t pid
  rm -f "$img"
  t=$(now); "$CARDFS" mkfs -q --profile uhs1-u3 --size "$card" "$img" || return 1; record "$who" mkfs_s "$(secs "$t")"
  drop_caches
  t=$(now); cf_mount "$img" "$work/mnt" || return 1; record "$who" mount_s "$(secs "$t")"
  pid=$(mnt_daemon_pid "$work/mnt")
  record "$who" mount_daemon_rss_mib "$(awk '/^VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$pid/status")"
  dd if=/dev/urandom of="$work/mnt/f" bs=1M count=256 conv=fsync status=none
  pid=$(mnt_daemon_pid "$work/mnt")
  kill -9 "$pid"
  fusermount3 -uz "$work/mnt" 2>/dev/null || umount -l "$work/mnt"
  mnt_forget CF_MOUNTS "$work/mnt"
  mnt_wait_unlocked "$img" 30
  drop_caches
  t=$(now)
  /usr/bin/time -f '%M' -o "$work/rss" "$CARDFS" card info "$img" >/dev/null || return 1
  record "$who" scan_s "$(secs "$t")"
  record "$who" scan_peak_rss_mib "$(awk '{ printf "%.0f", $1 / 1024 }' "$work/rss")"
  drop_caches
  t=$(now); cf_mount "$img" "$work/mnt" || return 1; record "$who" mount_after_crash_s "$(secs "$t")"
  cf_umount "$work/mnt"
  rm -f "$img"
}

one_run() {
  local ext=$work/ext4.img t
  cardfs_run cardfs || return 1
  if [ -n "$base_bin" ]; then
    local main=$CARDFS
    CARDFS=$(readlink -f "$base_bin"); cardfs_run cardfs-base; local rc=$?
    CARDFS=$main
    [ $rc = 0 ] || return 1
  fi
  rm -f "$ext"
  truncate -s "$card" "$ext"
  t=$(now); mkfs.ext4 -q -F "$ext" || return 1; record ext4 mkfs_s "$(secs "$t")"
  drop_caches
  t=$(now); loop=$(losetup -f --show "$ext") && mount "$loop" "$work/ext4" || return 1
  record ext4 mount_s "$(secs "$t")"
  umount "$work/ext4"; losetup -d "$loop"; loop=""
  rm -f "$ext"
}

# fill_run SIZE [NAME]: the daemon's memory while FILL is written and read
# back (NAME: what the figures are recorded as, cache_size=SIZE by default).
fill_run() {
  local cache=$1 who=${2:-cache_size=$1} img=$work/fill.img pid sampler mib
  mib=$(( $(numfmt --from=iec "$fill") / 1048576 - 1024 ))
  rm -f "$img"
  "$CARDFS" mkfs -q --profile uhs1-u3 --size "$fill" "$img" || return 1
  cf_mount "$img" "$work/mnt" -o "cache_size=$cache" || return 1
  pid=$(mnt_daemon_pid "$work/mnt")
  ( while kill -0 "$pid" 2>/dev/null; do
      awk -v t="$(date +%s.%N)" '/^VmRSS/ { print t, $2 }' "/proc/$pid/status" 2>/dev/null
      sleep 0.5
    done ) >"$out/rss-$who.tsv" &
  sampler=$!
  local t; t=$(now)
  dd if=/dev/zero of="$work/mnt/fill" bs=1M count="$mib" conv=fsync status=none || cf_log "fill: dd failed"
  record "$who" fill_write_s "$(secs "$t")"
  record "$who" rss_after_write_mib "$(awk '/^VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$pid/status")"
  drop_caches
  t=$(now)
  dd if="$work/mnt/fill" of=/dev/null bs=1M status=none || cf_log "fill: read back failed"
  record "$who" fill_read_s "$(secs "$t")"
  record "$who" rss_after_read_mib "$(awk '/^VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$pid/status")"
  record "$who" peak_rss_mib "$(awk '/^VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$pid/status")"
  record "$who" rss_at_mount_mib "$(awk 'NR == 1 { printf "%.0f", $2 / 1024 }' "$out/rss-$who.tsv")"
  # What of it the cache says it holds (its pool, its charge against
  # cache_size), and the daemon's mappings for the breakdown of the rest.
  local mi=$work/mnt/.cardfs/cache/meminfo
  record "$who" cache_pool_mib "$(awk '/^PagePoolResident:/ { printf "%.0f", $2 / 1024 }' "$mi")"
  record "$who" cache_memory_mib "$(awk '/^CacheMemory:/ { printf "%.0f", $2 / 1024 }' "$mi")"
  cp "/proc/$pid/smaps" "$out/smaps-$who.txt" 2>/dev/null
  record "$who" fill_mib "$mib"
  cf_umount "$work/mnt"
  kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null
  rm -f "$img"
}

cf_log "work $work, cardfs $CARDFS, card $card, $runs runs, load $(cut -d' ' -f1-3 /proc/loadavg)"
for ((r = 1; r <= runs; r++)); do
  cf_log "run $r/$runs (load $(cut -d' ' -f1-3 /proc/loadavg))"
  one_run || cf_log "run $r failed"
done
if [ "$skip_fill" = 0 ]; then
  IFS=, read -ra sizes <<<"$cache_sizes"
  for c in "${sizes[@]}"; do fill_run "$c" || cf_log "fill with cache_size=$c failed"; done
  if [ -n "$base_bin" ]; then
    main=$CARDFS
    CARDFS=$(readlink -f "$base_bin")
    fill_run "${sizes[0]}" "base,cache_size=${sizes[0]}" || cf_log "base fill failed"
    CARDFS=$main
  fi
fi
python3 - "$raw" >"$out/results.md" <<'EOF'
import sys, statistics
rows = {}
for line in open(sys.argv[1]):
    who, what, v = line.rstrip("\n").split("\t")
    rows.setdefault((who, what), []).append(float(v))
print("| target | figure | median | min..max | runs |\n|---|---|---|---|---|")
for (who, what), vs in rows.items():
    print(f"| {who} | {what} | {statistics.median(vs):g} | {min(vs):g}..{max(vs):g} | {len(vs)} |")
EOF
cat "$out/results.md"
cp -r "$out" "$work_parent/scale-results-$(date +%Y%m%d-%H%M%S)"
