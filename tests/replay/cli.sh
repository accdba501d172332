#!/usr/bin/env bash
# `cardfs replay` as a process: the seed 004 figures from a fio log,
# every fixture format, JSON, and one-line errors with exit status 1.
#   tests/replay/cli.sh CARDFS
set -u
CARDFS=$(readlink -f "$1")
FIX=$(dirname "$(readlink -f "$0")")/fixtures
tmp=$(mktemp -d /tmp/cardfs-replay-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# An error: exit status 1 and exactly one line on stderr, naming `want`.
expect_error() {
  local want=$1; shift
  local err
  if timeout 60 "$CARDFS" replay "$@" >"$tmp/out" 2>"$tmp/err"; then
    fail "replay $* succeeded"
    return
  fi
  [ "$(wc -l <"$tmp/err")" = 1 ] || fail "replay $*: not one line: $(cat "$tmp/err")"
  grep -q -- "$want" "$tmp/err" || fail "replay $*: '$want' not in: $(cat "$tmp/err")"
}

# Seed 004's write speed: 128 MB in 64 KiB writes, then a sync.
{
  echo "fio version 2 iolog"
  echo "/dev/mmcblk0 add"
  for ((i = 0; i < 2048; i++)); do echo "/dev/mmcblk0 write $((i * 65536)) 65536"; done
  echo "/dev/mmcblk0 sync 0 0"
} >"$tmp/seed.iolog"
timeout 120 "$CARDFS" replay "$tmp/seed.iolog" --profile seed-class10,seed-class4 --json >"$tmp/seed.json" 2>"$tmp/err" ||
  fail "seed replay: $(cat "$tmp/err")"
[ -s "$tmp/err" ] && fail "progress or messages on a non-terminal stderr: $(cat "$tmp/err")"
python3 - "$tmp/seed.json" <<'PY' || fail "seed 004 figures"
import json, sys
j = json.load(open(sys.argv[1]))
p = {x["profile"]: x for x in j["profiles"]}
assert j["trace"]["format"] == "fio-iolog-v2" and j["trace"]["source"] == "Q", j["trace"]
for name, want in (("seed-class10", 17.0), ("seed-class4", 88.0)):
    got = p[name]["busy_ns"] / 1e9
    assert abs(got - want) / want < 0.01, (name, got)
    assert p[name]["host_bytes_written"] == 128 << 20
    assert p[name]["latency"]["write"]["count"] == 2048
    assert p[name]["write_amplification"] == 1.0
    assert len(p[name]["wear"]["erase_counts"]) == p[name]["wear"]["aus"]
PY

# Every fixture format reads and replays (text report).
for f in synthetic.blkparse synthetic.ftrace synthetic-v2.iolog fio-v3.iolog; do
  timeout 60 "$CARDFS" replay "$FIX/$f" --profile class10 >"$tmp/out" 2>"$tmp/err" || fail "replay $f: $(cat "$tmp/err")"
  grep -q "write amplification" "$tmp/out" || fail "replay $f: no report"
done
for f in "$FIX"/*.blktrace.0; do
  [ -f "$f" ] || continue
  timeout 60 "$CARDFS" replay "${f%.blktrace.0}" --profile a1 >/dev/null 2>"$tmp/err" || fail "replay $f: $(cat "$tmp/err")"
done
timeout 60 "$CARDFS" replay "$FIX/synthetic.blkparse" --profile class4 --from Q >/dev/null 2>"$tmp/err" ||
  fail "--from Q: $(cat "$tmp/err")"

# Errors: one line each, exit 1.
expect_error "unknown profile" "$FIX/synthetic.blkparse" --profile nosuchcard
expect_error "no such trace" "$tmp/missing" --profile class10
printf 'garbage\n' >"$tmp/garbage"
expect_error "not a blkparse event line" "$tmp/garbage" --profile class10
head -c 70 /dev/urandom >"$tmp/x.blktrace.0"
printf '\x07\x74\x61\x65' | dd of="$tmp/x.blktrace.0" conv=notrunc status=none
expect_error "truncated" "$tmp/x" --profile class10
expect_error "beyond the" "$FIX/synthetic-v2.iolog" --profile class10 --size 4M
expect_error "multiple of the AU" "$FIX/synthetic.blkparse" --profile class10 --size 5M

[ "$fails" = 0 ] && echo "PASS" || { echo "$fails failure(s)"; exit 1; }
