#!/usr/bin/env bash
# What FUSE leaves to the daemon and is easy to get wrong: long names,
# sizes past the format's limit, setgid directories, SUID cleared by a
# non-owner's write, ftruncate through a handle, rename flags, fallocate
# modes, SEEK_DATA/SEEK_HOLE, the control directory.
source "$(dirname "$0")/lib.sh" "$@"

image=$MT_TMP/card.img
mnt=$MT_TMP/mnt
mkdir "$mnt"
chmod 755 "$MT_TMP"  # other users (nobody) act on the mount below
check "make image" mt_make_image "$image" 256
mt_mount "$image" "$mnt" -o allow_other || mt_pass
cd "$mnt" || exit 1

py() { mt_bounded 60 python3 -c "$@"; }
errno_of() {  # errno_of PYTHON_EXPR: prints the errno name the call fails with, or OK
  py "import os, errno, ctypes
try:
    $1
    print('OK')
except OSError as e:
    print(errno.errorcode[e.errno])"
}

name255=$(printf 'n%.0s' $(seq 255)); name256=${name255}x
check "a 255-byte name works" touch "$name255"
check "a 256-byte name is ENAMETOOLONG" test "$(errno_of "open('$name256', 'w')")" = ENAMETOOLONG
check "mkdir with 256 bytes: ENAMETOOLONG" test "$(errno_of "os.mkdir('$name256')")" = ENAMETOOLONG
check "rename to 256 bytes: ENAMETOOLONG" test "$(errno_of "os.rename('$name255', '$name256')")" = ENAMETOOLONG
check "truncate past the maximum size: EFBIG" test "$(errno_of "os.truncate('$name255', 1 << 62)")" = EFBIG

# setgid directory: new files take its group, new directories the bit too.
mkdir sg && chown 0:4242 sg && chmod 2775 sg
touch sg/f && mkdir sg/d
check "file in setgid dir takes its group" test "$(stat -c %g sg/f)" = 4242
check "dir in setgid dir takes group and bit" test "$(stat -c %g:%A sg/d)" = "4242:drwxr-sr-x"

# SUID/SGID cleared when someone else writes (the kernel sends a mode
# change as that user; the daemon must accept it).
touch suid && chmod 4777 suid
check "non-owner write" setpriv --reuid=65534 --regid=65534 --clear-groups sh -c 'echo x >> suid'
check "setuid bit cleared by the write" test "$(stat -c %a suid)" = 777

# ftruncate through a handle needs no write permission on the file any more.
check "ftruncate on an open handle after chmod 0444" py "
import os
fd = os.open('ft', os.O_CREAT | os.O_RDWR, 0o644)
os.chmod('ft', 0o444)
os.ftruncate(fd, 12345)
os.close(fd)
assert os.stat('ft').st_size == 12345"

# Sticky directory: others may not delete what is not theirs.
mkdir -m 1777 sticky && touch sticky/mine
check "sticky dir refuses another user's unlink" \
  setpriv --reuid=65534 --regid=65534 --clear-groups sh -c '! rm -f sticky/mine 2>/dev/null'
check "file still there" test -e sticky/mine

# renameat2 flags.
renameat2() {
  py "import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
rc = libc.renameat2(-100, b'$1', -100, b'$2', $3)
if rc != 0:
    import errno; print(errno.errorcode[ctypes.get_errno()])
else:
    print('OK')"
}
echo one >r1; echo two >r2
check "RENAME_NOREPLACE onto a name: EEXIST" test "$(renameat2 r1 r2 1)" = EEXIST
check "RENAME_EXCHANGE swaps" test "$(renameat2 r1 r2 2)" = OK
check "swapped contents" test "$(cat r1)$(cat r2)" = twoone
check "rename replaces a target" mv r1 r2
check "replaced" test "$(cat r2)" = two

# fallocate: the modes FUSE forwards work; collapse and insert it refuses
# (tests/mount/fallocate_ext4.sh compares them all with ext4).
check "fallocate" fallocate -l 1M fa
check "fallocate size" test "$(stat -c %s fa)" = 1048576
check "fallocate --keep-size" fallocate -n -o 1M -l 1M fa
check "keep-size keeps the size" test "$(stat -c %s fa)" = 1048576
check "punch a hole" fallocate -p -o 4096 -l 8192 fa
check "the hole reads zeros" test "$(dd if=fa bs=4096 skip=1 count=2 status=none | tr -d '\0' | wc -c)" = 0
check "zero-range" fallocate -z -o 4096 -l 4096 fa
check "collapse-range is refused by Linux's FUSE module" sh -c 'fallocate -c -l 4096 fa 2>&1 | grep -q "Operation not supported"'
# fallocate writes no data (unwritten blocks): 64 MiB cost the card only metadata.
card_written() { awk '$1 == "card.host_sectors_written" { print $2 }' "$mnt/.cardfs/stat"; }
sync -f fa
written0=$(card_written)
check "fallocate 64M" fallocate -l 64M big
sync -f big
check "fallocate wrote metadata only (< 1 MiB of card writes)" test $(( $(card_written) - written0 )) -lt 2048
check "du counts preallocated blocks" test "$(du -k big | cut -f1)" -ge 65536
check "preallocated blocks read as zeros" sh -c 'head -c 64M /dev/zero | cmp -s big -'
check "a write into them reads back" py "
import os
fd = os.open('big', os.O_RDWR)
os.pwrite(fd, b'abc', 5000000)
assert os.pread(fd, 5, 4999999) == b'\\0abc\\0'
"

# SEEK_DATA / SEEK_HOLE.
check "SEEK_DATA/SEEK_HOLE" py "
import os
fd = os.open('holes', os.O_CREAT | os.O_RDWR, 0o644)
os.pwrite(fd, b'x' * 4096, 1 << 20)
assert os.lseek(fd, 0, os.SEEK_DATA) == 1 << 20, os.lseek(fd, 0, os.SEEK_DATA)
assert os.lseek(fd, 0, os.SEEK_HOLE) == 0
assert os.lseek(fd, 1 << 20, os.SEEK_HOLE) == (1 << 20) + 4096
os.close(fd)"

# Shared writable mmap works in the default mode.
check "shared writable mmap" py "
import mmap, os
fd = os.open('mm', os.O_CREAT | os.O_RDWR, 0o644)
os.ftruncate(fd, 8192)
m = mmap.mmap(fd, 8192, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
m[100:105] = b'hello'; m.flush(); m.close(); os.close(fd)
assert open('mm', 'rb').read()[100:105] == b'hello'"

# The control directory.
check ".cardfs is not listed" sh -c '! ls -a | grep -q "^.cardfs$"'
check "stat has every layer" sh -c 'grep -q "^card.commands " .cardfs/stat && grep -q "^queue.queued " .cardfs/stat && grep -q "^mem.Dirty " .cardfs/stat'
check "tunable reads" test "$(cat .cardfs/vm/dirty_ratio)" = 20
check "tunable writes" sh -c 'echo 30 > .cardfs/vm/dirty_ratio'
check "tunable changed" test "$(cat .cardfs/vm/dirty_ratio)" = 30
check "bad value refused" sh -c '! echo 300 > .cardfs/vm/dirty_ratio 2>/dev/null'
check "queue tunable" sh -c 'echo none > .cardfs/queue/scheduler && grep -q none .cardfs/queue/scheduler'
check "nothing can be created in .cardfs" sh -c '! touch .cardfs/new 2>/dev/null'
check "the name .cardfs is taken" sh -c '! mkdir .cardfs 2>/dev/null'
check "trace start" sh -c "echo 'start $MT_TMP/tr' > .cardfs/trace && grep -q '^on' .cardfs/trace"
dd if=/dev/zero of=traced bs=64k count=4 conv=fsync status=none
check "trace stop" sh -c 'echo stop > .cardfs/trace && grep -q "^off" .cardfs/trace'
check "trace file written" sh -c "ls $MT_TMP/tr.blktrace.* >/dev/null"
check "cardfs stat prints live lines" sh -c "'$CARDFS' stat '$mnt' -i 0.2 -c 2 | tail -1 | grep -qE '[0-9]'"
cd /
mt_umount "$mnt"

# -o direct_io: every read and write reaches cardfs's cache; shared
# writable mmap is refused (ENODEV) by the kernel.
mt_mount "$image" "$mnt" -o direct_io || mt_pass
check "direct_io write+read" sh -c "head -c 1000000 /dev/urandom > $MT_TMP/r && cp $MT_TMP/r $mnt/r && cmp $MT_TMP/r $mnt/r"
check "direct_io: reads counted by the cache" sh -c "h1=\$(grep '^vm.cache_hits ' $mnt/.cardfs/stat | cut -d' ' -f2); cat $mnt/r >/dev/null; h2=\$(grep '^vm.cache_hits ' $mnt/.cardfs/stat | cut -d' ' -f2); test \$h2 -gt \$h1"
check "direct_io: shared writable mmap is ENODEV" test "$(errno_of "import mmap; fd = os.open('$mnt/r', os.O_RDWR); mmap.mmap(fd, 4096, mmap.MAP_SHARED, mmap.PROT_WRITE)")" = ENODEV
mt_umount "$mnt"
mt_pass
