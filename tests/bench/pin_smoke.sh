#!/usr/bin/env bash
# scripts/bench/run.sh --pin: with split every FUSE daemon's threads are
# moved to CPU 1 once it mounts (the log carries taskset's line for each)
# while the workloads run on CPU 0; with same nothing is moved; a bad value
# is refused before anything runs. At --quick sizes, meta_small only, on
# the floor and cardfs. Needs root, 2 CPUs, gcc and libfuse3-dev.
# Usage: pin_smoke.sh PATH/TO/cardfs
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "needs root: skipped"; exit 77; }
[ "$(getconf _NPROCESSORS_ONLN)" -ge 2 ] || { echo "one CPU: skipped"; exit 77; }
command -v gcc >/dev/null && pkg-config --exists fuse3 || { echo "no gcc or libfuse3-dev: skipped"; exit 77; }
[ -e /dev/fuse ] || { echo "no /dev/fuse: skipped"; exit 77; }
out=$(mktemp -d /tmp/cardfs-pin-smoke.XXXXXX)
trap 'rm -rf "$out"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

run() {  # run PIN: run.sh at --quick sizes into $out/PIN
  timeout -k 10 240 "$root/scripts/bench/run.sh" --quick --no-build --cardfs "$cardfs" --pin "$1" \
    --targets floor,cardfs --workloads meta_small --out "$out/$1" --work "$out" >"$out/$1.stdout" 2>&1
}
cardfs=$1

# figures PIN: every target has its three figures and meta.json says PIN.
figures() {
  python3 - "$out/$1" "$1" <<'PY'
import json, sys
from pathlib import Path
d = Path(sys.argv[1])
r = json.loads((d / "results.json").read_text())
bad = [f"{t} {m}" for m in ("create_small_s", "stat_small_s", "unlink_small_s")
       for t in ("floor", "cardfs") if not r["results"].get(m, {}).get(t)]
pin = json.loads((d / "meta.json").read_text()).get("pin")
if pin != sys.argv[2]:
    bad.append(f"meta.json pin {pin!r}")
for b in bad:
    print("missing:", b)
sys.exit(1 if bad else 0)
PY
}

run split || bad "run.sh --pin split exit $?: $(tail -5 "$out/split.stdout")"
figures split || bad "--pin split: figures"
# floor_ll has one thread, cardfs several: each moved to CPU 1.
moved=$(grep -c "new affinity list: 1$" "$out/split/log")
[ "$moved" -ge 3 ] || bad "--pin split moved $moved daemon threads to CPU 1 (log: $(grep -i affinity "$out/split/log" | head -3))"
grep -q "new affinity list: [^1]" "$out/split/log" && bad "--pin split put a thread elsewhere than CPU 1"

run same || bad "run.sh --pin same exit $?: $(tail -5 "$out/same.stdout")"
figures same || bad "--pin same: figures"
grep -q "new affinity list" "$out/same/log" && bad "--pin same moved a daemon"

msg=$("$root/scripts/bench/run.sh" --quick --pin both --targets floor 2>&1); rc=$?
[ $rc -eq 2 ] && [[ $msg == *"--pin wants same or split"* ]] || bad "--pin both: exit $rc, '$msg'"

"$root/scripts/bench/run.sh" --help | grep -q -- "--pin same|split" || bad "run.sh --help does not show --pin"

grep -q "$out" /proc/mounts && bad "a bench mount was left behind"
[ $fail = 0 ] && echo "pin smoke: daemons on CPU 1 with split, left alone with same, a bad value refused"
exit $fail
