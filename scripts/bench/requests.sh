#!/usr/bin/env bash
# What the kernel sends a FUSE daemon for `cp -a TREE` and then `rm -rf` of
# the copy, counted by opcode from the daemon's debug output (-d), for the
# floor (peers/floor_ll.c) and cardfs side by side: the floor is a fair
# floor only if it gets the same requests (docs/BENCHMARKS.md, issue 23).
#   scripts/bench/requests.sh [--cardfs BIN] [--work DIR] [TREE]   (default /usr/include)
# Prints one table per step (opcode, floor, cardfs) on stdout; exit 0.
# Needs root (or fusermount3), libfuse3-dev and a cardfs binary. Every
# daemon is unmounted and awaited (bounded), also on failure.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cardfs=$ROOT/build/cardfs work_parent=/tmp tree=/usr/include
while [ $# -gt 0 ]; do
  case $1 in
    --cardfs) cardfs=$2; shift ;;
    --work) work_parent=$2; shift ;;
    -h | --help) sed -n '2,9p' "$0" | cut -c3-; exit 0 ;;
    -*) echo "requests.sh: unknown option '$1'" >&2; exit 2 ;;
    *) tree=$1 ;;
  esac
  shift
done
work=$(mktemp -d "$work_parent/cardfs-requests.XXXXXX") || exit 1
pid=""
stop_daemon() {
  local m=$work/mnt i
  mountpoint -q "$m" && { timeout -k 5 60 fusermount3 -u "$m" || fusermount3 -uz "$m"; }
  if [ -n "$pid" ]; then
    for ((i = 0; i < 300; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    wait "$pid" 2>/dev/null
  fi
  pid=""
}
trap 'stop_daemon; rm -rf "$work"' EXIT
die() { echo "requests.sh: $*" >&2; exit 1; }

gcc -O2 -o "$work/floor_ll" "$ROOT"/scripts/bench/peers/floor_{ll,xattr}.c $(pkg-config fuse3 --cflags --libs) ||
  die "cannot build the floor (needs libfuse3-dev)"
[ -x "$cardfs" ] || die "no cardfs binary at $cardfs (--cardfs)"

# opcode counts of a step, from the debug log's "opcode: NAME" lines
counts() { grep -ao 'opcode: [A-Z_]*' "$1" | awk '{n[$2]++} END {for (o in n) print o, n[o]}' | sort; }

# count TARGET: mounts it with -d, copies and removes the tree, keeps the counts
count() {
  local t=$1 m=$work/mnt log=$work/$1.log i
  mkdir -p "$m"
  if [ "$t" = floor ]; then
    "$work/floor_ll" -f -d "$m" >"$log" 2>&1 &
  else
    "$cardfs" mkfs --profile uhs1-u3 --size 2G "$work/card.img" >/dev/null || die "mkfs failed"
    "$cardfs" mount -d "$work/card.img" "$m" >"$log" 2>&1 &
  fi
  pid=$!
  for ((i = 0; i < 300; i++)); do mountpoint -q "$m" && break; sleep 0.1; done
  mountpoint -q "$m" || die "$t did not mount: $(tail -3 "$log")"
  : >"$log"
  timeout 600 cp -a "$tree" "$m/tree" || die "cp -a into $t failed"
  counts "$log" >"$work/$t.cp"
  : >"$log"
  timeout 600 rm -rf "$m/tree" || die "rm -rf on $t failed"
  counts "$log" >"$work/$t.rm"
  stop_daemon
  rm -f "$work/card.img"
}

table() {
  echo "| $1 | floor | cardfs |"
  echo "|---|---|---|"
  join -a1 -a2 -e 0 -o 0,1.2,2.2 "$work/floor.$2" "$work/cardfs.$2" | awk '{print "| " $1 " | " $2 " | " $3 " |"; f += $2; c += $3}
    END {print "| all | " f " | " c " |"}'
}

count floor
count cardfs
echo "tree: $tree ($(find "$tree" -type f | wc -l) files, $(find "$tree" -type d | wc -l) directories, $(find "$tree" -type l | wc -l) symlinks)"
echo
table "cp -a" cp
echo
table "rm -rf" rm
