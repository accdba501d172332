#!/usr/bin/env bash
# What the README's first command shows once cardfs is built: a class 10
# card image of 1 GiB with a fresh cardfs, mounted, used with ordinary
# tools, and the counters of every layer. It stays mounted for you to try.
#   scripts/demo.sh [IMAGE [MOUNTPOINT]]   (default: /tmp/cardfs-demo.img, /tmp/cardfs-demo)
set -euo pipefail
cd "$(dirname "$0")/.."
cardfs=${CARDFS:-$PWD/build/cardfs}
image=${1:-/tmp/cardfs-demo.img}
mnt=${2:-/tmp/cardfs-demo}

"$cardfs" --version
if grep -q " $mnt fuse.cardfs " /proc/self/mounts; then
  echo "demo: $mnt is already mounted; unmount it first: fusermount3 -u $mnt" >&2
  exit 1
fi
if [ ! -e "$image" ]; then
  echo "== mkfs.cardfs: a 1 GiB class 10 card with a cardfs on it ($image)"
  "$cardfs" mkfs --profile class10 --size 1G "$image"
fi
mkdir -p "$mnt"
echo "== cardfs mount $image $mnt"
"$cardfs" mount "$image" "$mnt"

echo "== writing and reading a file with ordinary tools"
dd if=/dev/urandom of="$mnt/hello.bin" bs=1M count=16 conv=fsync status=none
echo "hello from cardfs" >"$mnt/hello.txt"
cat "$mnt/hello.txt"
cmp "$mnt/hello.bin" <(cat "$mnt/hello.bin") && echo "16 MiB written with fsync and read back"
ls -l "$mnt"
df -h "$mnt"

echo "== the layers' counters ($mnt/.cardfs/stat, also: cardfs stat $mnt -i 1)"
grep -E '^(card\.(commands|host_sectors_written|flash_pages_programmed|write_amplification|device_time_ns)|queue\.(queued|merges|requests_completed)|mem\.(Cached|Dirty)|vm\.(cache_hits|cache_misses)) ' "$mnt/.cardfs/stat"
echo
echo "cardfs is mounted on $mnt (image $image). Try it with any tool; watch it with"
echo "  $cardfs stat $mnt -i 1"
echo "Unmount it (everything is written back to the image) with"
echo "  fusermount3 -u $mnt"

# CI runs this as the README's first command on a throwaway machine: leave
# nothing mounted behind it (this also proves a clean unmount works).
if [ "${CI:-}" = true ]; then
  echo "== CI: unmounting"
  fusermount3 -u "$mnt"
  for _ in $(seq 1 100); do
    grep -q " $mnt fuse.cardfs " /proc/self/mounts || break
    sleep 0.1
  done
  ! grep -q " $mnt fuse.cardfs " /proc/self/mounts
fi
