#!/usr/bin/env bash
# Issue 15's crash loop: kill -9 of the daemon at a random moment under a
# workload that records what it fsync'd (crash_workload.py), then fsck -y,
# fsck -n (clean, exit 0), a remount, and every fsync'd file intact (its
# SHA-256) and every fsync'd directory there. Every other round mounts
# straight after the kill (the journal's replay) and runs fsck -n after
# that: nothing to repair. CARDFS_CRASH_ITERATIONS
# (default 3) rounds on one image; CARDFS_CRASH_SEED repeats a run (the
# seed is printed).
source "$(dirname "$0")/lib.sh" "$@"

iterations=${CARDFS_CRASH_ITERATIONS:-3}
seed=${CARDFS_CRASH_SEED:-$(( $(date +%s) % 100000 ))}
mt_log "crash loop: $iterations iteration(s), seed $seed (CARDFS_CRASH_SEED=$seed repeats it)"
RANDOM=$seed
record=$MT_TMP/record
: >"$record"
mt_fresh_mount 128
mt_umount "$mnt"

# Every promise in the record holds on the mounted image.
verify_record() {
  python3 - "$record" <<'PY'
import hashlib, os, sys
files, dirs, bad = {}, set(), 0
for line in open(sys.argv[1]):
    kind, path, *rest = line.split()
    if kind == "dir": dirs.add(path)
    elif kind == "file": files[path] = (rest[0], int(rest[1]))
    elif kind == "gone": files.pop(path, None)
for d in sorted(dirs):
    if not os.path.isdir(d): print("missing directory", d); bad += 1
for path, (want, size) in sorted(files.items()):
    try:
        data = open(path, "rb").read()
    except OSError as e:
        print("unreadable", path, e); bad += 1; continue
    if hashlib.sha256(data).hexdigest() != want:
        print("wrong content", path, "size", len(data), "want", size); bad += 1
print("%d fsync'd files and %d directories checked, %d bad" % (len(files), len(dirs), bad))
sys.exit(1 if bad else 0)
PY
}

fsck_y() { "$CARDFS" fsck -y "$image"; [ $? -le 1 ]; }

for ((i = 1; i <= iterations; i++)); do
  mt_mount "$image" "$mnt" || break
  mkdir "$mnt/w$i"
  python3 "$(dirname "$0")/crash_workload.py" "$mnt/w$i" "$record" "$((seed + i))" &
  pid=$!
  ms=$((300 + RANDOM % 2700))  # the kill comes 0.3 to 3 s in
  sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
  mt_log "iteration $i: kill -9 after $(wc -l <"$record") promises"
  mt_kill9 "$mnt"
  mt_bounded 30 tail --pid="$pid" -f /dev/null || kill -9 "$pid"
  wait "$pid"
  if ((i % 2)); then
    check "iteration $i: fsck -y" fsck_y
    check "iteration $i: fsck -n is clean afterwards" "$CARDFS" fsck -n "$image"
  fi
  # Even iterations: the mount alone replays the journal (issue 16), and
  # fsck -n after it finds nothing to repair.
  mt_mount "$image" "$mnt" || break
  check "iteration $i: every fsync'd file and directory is intact" verify_record
  mt_umount "$mnt"
  ((i % 2)) || check "iteration $i: fsck -n after the mount's replay is clean" "$CARDFS" fsck -n "$image"
done
mt_pass
