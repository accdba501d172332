#!/usr/bin/env bash
# Replay speed (not a test): COMMANDS random 4 KiB writes over a 1 GiB card
# replayed by `cardfs replay` on a block-FTL and a page-FTL profile,
# against the same kind of writes on a fast-mode mount of the same card
# in the same run (fio, O_DIRECT, one card command per write; MOUNT_IOS of
# them, since a mounted block-FTL card merges a 4 MiB AU in its image
# file at nearly every write). Prints medians of RUNS runs: replay wall
# and CPU (user + sys) seconds, commands/s by wall time, the mount's
# commands/s (fio's write IOPS), and the ratio of the two. On a shared
# machine the wall times swing with its load; CPU time much less.
#   sudo scripts/bench/replay_bench.sh [BUILD_DIR] [RUNS] [COMMANDS] [MOUNT_IOS]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(readlink -f "${1:-$root/build}")
runs=${2:-3}
commands=${3:-1000000}
mount_ios=${4:-20000}
cardfs=$build/cardfs
source "$root/scripts/lib/mounts.sh"
tmp=$(mktemp -d /tmp/cardfs-replay-bench.XXXXXX)
mnt=$tmp/mnt
cleanup() {
  mnt_is_fuse "$mnt" && mnt_force_unmount "$mnt" 30
  rm -rf "$tmp"
}
trap cleanup EXIT
mkdir "$mnt"

python3 - "$tmp/rand.iolog" "$commands" <<'PY'
import random, sys
r = random.Random(20261206)
pages = (1 << 30) // 4096
with open(sys.argv[1], "w") as f:
    f.write("fio version 2 iolog\n/dev/mmcblk0 add\n")
    f.writelines("/dev/mmcblk0 write %d 4096\n" % (r.randrange(pages) * 4096) for _ in range(int(sys.argv[2])))
PY

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# "WALL CPU" seconds of one replay.
replay_once() {
  /usr/bin/time -f "%e %U %S" -o "$tmp/time" "$cardfs" replay "$tmp/rand.iolog" --profile "$1" --size 1G --json >"$tmp/r.json"
  awk '{ print $1, $2 + $3 }' "$tmp/time"
}

# Writes per second of fio's random 4 KiB O_DIRECT writes on a fresh fast-mode mount.
mount_once() {
  rm -f "$tmp/card.img"
  "$cardfs" mkfs --profile "$1" --size 1G "$tmp/card.img" >/dev/null
  "$cardfs" mount "$tmp/card.img" "$mnt"
  fio --name=rw --filename="$mnt/f" --size=768M --rw=randwrite --bs=4k --direct=1 --ioengine=psync \
    --number_ios="$mount_ios" --randseed=7 --output-format=json >"$tmp/fio.json" 2>/dev/null
  fusermount3 -u "$mnt"
  mnt_wait_unlocked "$tmp/card.img" 120
  python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['jobs'][0]['write']['iops'])" "$tmp/fio.json"
}

printf '%-8s %8s %8s %14s %14s %8s\n' profile "wall s" "CPU s" "replay cmd/s" "mount cmd/s" ratio
for profile in class10 a2; do
  walls=() cpus=() rates=()
  for ((i = 0; i < runs; i++)); do
    read -r w c < <(replay_once "$profile")
    walls+=("$w") cpus+=("$c")
    rates+=("$(mount_once "$profile")")
  done
  wall=$(printf '%s\n' "${walls[@]}" | median)
  cpu=$(printf '%s\n' "${cpus[@]}" | median)
  rate=$(printf '%s\n' "${rates[@]}" | median)
  printf '%-8s %8.2f %8.2f %14.0f %14.0f %8.0f\n' "$profile" "$wall" "$cpu" "$(echo "$commands / $wall" | bc -l)" \
    "$rate" "$(echo "$commands / $wall / $rate" | bc -l)"
done
