"""The crash loop's workload (tests/mount/crash_loop.sh): writes files under
MNT and appends to RECORD what it made durable, only once the fsyncs that
make it so have returned:
  dir PATH          a directory created, its parent fsync'd
  file PATH SHA256 SIZE  a file written, fsync'd, its directory fsync'd
  gone PATH         written before PATH is unlinked: no longer promised
Besides, files written without fsync (noise) and files unlinked while open
(kept open until the daemon dies: orphans). Runs until killed or until the
mount fails under it."""
import hashlib
import os
import random
import sys

mnt, record, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = random.Random(seed)
out = open(record, "a", buffering=1)
held = []  # open descriptors of unlinked files
live = []  # durable files that may be unlinked


def fsync_path(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_file(path, data, sync):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    view = memoryview(data)
    while view:  # a full card gives short writes, then ENOSPC (OSError)
        view = view[os.write(fd, view[:65536]):]
    if sync:
        os.fsync(fd)
    return fd


def step(i):
    d = os.path.join(mnt, "d%d" % (i % 5))
    if not os.path.isdir(d):
        os.mkdir(d)
        fsync_path(mnt)
        out.write("dir %s\n" % d)
    op = rng.random()
    size = rng.choice([0, 1, 100, 4096, 5000, 65536, 300000, 1 << 20])
    data = rng.randbytes(size)
    path = os.path.join(d, "f%d" % i)
    if op < 0.15 and live:
        victim = live.pop(rng.randrange(len(live)))
        out.write("gone %s\n" % victim)
        os.unlink(victim)
    elif op < 0.25:
        os.close(write_file(path + ".noise", data, sync=False))
    elif op < 0.35:
        fd = write_file(path + ".orphan", data, sync=True)
        os.unlink(path + ".orphan")
        fsync_path(d)
        held.append(fd)
    else:
        os.close(write_file(path, data, sync=True))
        fsync_path(d)
        out.write("file %s %s %d\n" % (path, hashlib.sha256(data).hexdigest(), len(data)))
        live.append(path)


i = 0
try:
    while True:
        step(i)
        i += 1
except OSError:
    pass  # the daemon was killed under us
