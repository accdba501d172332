#!/usr/bin/env bash
# On the default one-thread FUSE loop, requests that wait for a slow card
# run on the fuse-wait workers (waiting_ops.h): while one caller streams a
# cold read, and then writes past dirty_ratio (throttled), on a realtime
# class4 card, another caller's stat (a GETATTR of a control file, which the
# kernel never caches) and directory listing are answered meanwhile. Judged
# against the slow requests' own times, not a clock: the median stat must
# take under a quarter of the median read (write) call. On the loop's one
# thread a stat waits for the READ or WRITE in progress, about half of one
# on average; before the fix, 0.4-0.6 of it.
source "$(dirname "$0")/lib.sh" "$@"

image=$MT_TMP/card.img
mnt=$MT_TMP/mnt
mkdir "$mnt"
check "make a class4 image" mt_bounded 120 "$CARDFS" mkfs --profile class4 --size 256M "$image"
mt_mount "$image" "$mnt" || mt_pass
check "write a 24 MiB file" mt_bounded 60 dd if=/dev/urandom of="$mnt/cold" bs=1M count=24 status=none
mkdir "$mnt/dir" && touch "$mnt/dir/a" "$mnt/dir/b"
mt_umount "$mnt"
# A fresh daemon: neither cardfs's cache nor the kernel's holds the file.
mt_mount "$image" "$mnt" -o realtime,cache_size=16M || mt_pass

cat > "$MT_TMP/probe.py" <<'PY'
import os, statistics, sys, threading, time
mnt, phase = sys.argv[1], sys.argv[2]
MiB = 1 << 20
calls = []
def reader():
    fd = os.open(mnt + '/cold', os.O_RDONLY)
    off = 0
    while True:
        start = time.monotonic()
        n = len(os.pread(fd, MiB, off))
        calls.append(time.monotonic() - start)
        if n == 0: break
        off += n
    os.close(fd)
def writer():
    fd = os.open(mnt + '/hot', os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
    chunk = os.urandom(MiB)
    for i in range(24):
        start = time.monotonic()
        os.write(fd, chunk)
        if i >= 8: calls.append(time.monotonic() - start)  # past the 3.2 MiB dirty limit
    os.close(fd)
def handed_off():
    with open(mnt + '/.cardfs/fuse/requests') as f:
        return int(f.read().split()[1])
os.listdir(mnt + '/dir')  # its blocks in the cache before the card is busy
handed_before = handed_off()
t = threading.Thread(target=reader if phase == 'read' else writer)
t.start()
time.sleep(0.1)
stats, lists = [], []
while t.is_alive():
    start = time.monotonic()
    os.stat(mnt + '/.cardfs/stat')
    stats.append(time.monotonic() - start)
    start = time.monotonic()
    os.listdir(mnt + '/dir')
    lists.append(time.monotonic() - start)
    time.sleep(0.005)
t.join()
handed = handed_off() - handed_before
slow, stat = statistics.median(calls), statistics.median(stats)
print(f'{phase}: {len(calls)} calls, median {slow * 1e3:.1f} ms, max {max(calls) * 1e3:.1f} ms; '
      f'{len(stats)} stats, median {stat * 1e3:.2f} ms, max {max(stats) * 1e3:.1f} ms; '
      f'listings median {statistics.median(lists) * 1e3:.2f} ms, max {max(lists) * 1e3:.1f} ms; '
      f'{handed} requests handed to fuse-wait workers')
assert slow > 0.02, f'the {phase} calls were too quick to tell'
assert stat < slow / 4, f'the stats waited for the {phase} calls'
assert len(stats) >= 5, 'too few stats to tell'
assert handed >= len(calls) // 2, f'the {phase} calls did not go to the workers'
PY
check "stats are answered while a cold read waits for the card" \
  mt_bounded 120 python3 "$MT_TMP/probe.py" "$mnt" read
check "stats are answered while a throttled writer waits for write-back" \
  mt_bounded 120 python3 "$MT_TMP/probe.py" "$mnt" write
check "the file read is whole" test "$(stat -c %s "$mnt/cold")" = $((24 << 20))
check "the file written is whole" test "$(stat -c %s "$mnt/hot")" = $((24 << 20))
mt_umount "$mnt"
check "fsck -n is clean" "$CARDFS" fsck -n "$image"
mt_pass
