#!/usr/bin/env bash
# Readdir positions through the kernel: getdents64 with a small buffer
# while names are added and removed between calls (so leaves split under
# the listing), then lseek back to saved d_off values (seekdir). Every name
# present throughout is listed exactly once, none twice; a resumed listing
# gives exactly the survivors after the saved entry. The image checks clean.
source "$(dirname "$0")/lib.sh" "$@"

mt_fresh_mount 64
mkdir "$mnt/d"

listing() {
  mt_bounded 120 python3 - "$1" <<'PY'
import ctypes, os, random, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
SYS_getdents64 = 217  # x86_64

def getdents(fd, size=512):
    buf = ctypes.create_string_buffer(size)
    n = libc.syscall(SYS_getdents64, fd, buf, size)
    if n < 0:
        raise OSError(ctypes.get_errno(), "getdents64")
    out, pos = [], 0
    while pos < n:
        _ino, off, reclen, _type = struct.unpack_from("<QqHB", buf.raw, pos)
        name = buf.raw[pos + 19:pos + reclen].split(b"\0", 1)[0].decode()
        out.append((name, off))
        pos += reclen
    return out

d = sys.argv[1]
rng = random.Random(20261121)
lasting = ["keep-%04d" % i for i in range(300)]
doomed = ["doom-%04d" % i for i in range(300)]
for n in lasting + doomed:
    os.close(os.open(os.path.join(d, n), os.O_CREAT | os.O_WRONLY, 0o644))

fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
seen, order, added, calls = {}, [], 0, 0
while True:
    batch = getdents(fd)
    calls += 1
    if not batch:
        break
    for name, off in batch:
        seen[name] = seen.get(name, 0) + 1
        order.append((name, off))
    if calls <= 40:  # then let the listing finish
        for _ in range(25):
            os.close(os.open(os.path.join(d, "new-%05d" % added), os.O_CREAT | os.O_WRONLY, 0o644))
            added += 1
        for _ in range(3):
            if doomed:
                os.unlink(os.path.join(d, doomed.pop(rng.randrange(len(doomed)))))
    if calls > 10000:
        sys.exit("listing does not end")
twice = [n for n, c in seen.items() if c > 1]
missing = [n for n in lasting if seen.get(n, 0) != 1]
if twice or missing:
    sys.exit("twice: %s; not once: %s" % (twice[:5], missing[:5]))
print("listed in %d calls, %d names added meanwhile" % (calls, added))

# seekdir: resume after saved entries, following more changes.
names = [(n, off) for n, off in order if n not in (".", "..")]
saved = [names[rng.randrange(len(names))] for _ in range(8)]
for i in range(400):
    os.close(os.open(os.path.join(d, "late-%04d" % i), os.O_CREAT | os.O_WRONLY, 0o644))
present = set(os.listdir(d))
listed = set(n for n, _ in names)
for name, off in saved:
    os.lseek(fd, off, os.SEEK_SET)
    got = []
    while True:
        batch = getdents(fd)
        if not batch:
            break
        got += [n for n, _ in batch]
    if len(got) != len(set(got)):
        sys.exit("a resumed listing repeats names")
    after = [n for n, _ in names[names.index((name, off)) + 1:] if n in present]
    mine = [n for n in got if n in listed]  # the late ones aside
    if mine != after:
        sys.exit("resuming after %s: expected %d names, got %d" % (name, len(after), len(mine)))
os.close(fd)
PY
}
check "listing while the directory changes, and seekdir" listing "$mnt/d"
mt_umount "$mnt"
check "fsck -n is clean" "$CARDFS" fsck -n "$image"
mt_pass
