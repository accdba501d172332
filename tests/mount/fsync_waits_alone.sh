#!/usr/bin/env bash
# On the default one-thread FUSE loop an fsync waits on a worker of its own
# (waiting_ops.h): while one caller's fsync waits for a slow realtime card,
# another caller's stat and read of the control file are answered. Judged
# against the fsync's own time, not a clock: the other caller must be
# answered within half of it (on the loop's one thread it waits for the
# fsync's reply, nearly all of it).
source "$(dirname "$0")/lib.sh" "$@"

image=$MT_TMP/card.img
mnt=$MT_TMP/mnt
mkdir "$mnt"
check "make a class4 image" mt_bounded 120 "$CARDFS" mkfs --profile class4 --size 256M "$image"
mt_mount "$image" "$mnt" -o realtime || mt_pass

check "another caller is answered while an fsync waits" mt_bounded 120 python3 -c "
import os, sys, threading, time
mnt = sys.argv[1]
fd = os.open(mnt + '/big', os.O_CREAT | os.O_WRONLY, 0o644)
os.write(fd, b'z' * (8 << 20))
done = {}
def fsync():
    start = time.monotonic()
    os.fsync(fd)
    done['fsync'] = time.monotonic() - start
t = threading.Thread(target=fsync)
t.start()
time.sleep(0.2)  # the fsync is on its way (8 MiB take seconds on class4)
start = time.monotonic()
os.stat(mnt + '/.cardfs/stat')
open(mnt + '/.cardfs/stat').read()
other = time.monotonic() - start
t.join()
print('fsync took', round(done['fsync'], 3), 's; the other caller', round(other, 3), 's')
assert done['fsync'] > 0.5, 'the fsync was too quick to tell'
assert other < done['fsync'] / 2, 'the other caller waited for the fsync'
" "$mnt"
check "the fsync'd file is whole" test "$(stat -c %s "$mnt/big")" = $((8 << 20))
mt_umount "$mnt"
check "fsck -n is clean" "$CARDFS" fsck -n "$image"
mt_pass
