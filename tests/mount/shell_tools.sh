#!/usr/bin/env bash
# Ordinary tools on a mounted cardfs: cp -a of a source tree and diff -r
# back, a tar round trip, and the everyday commands on names and modes.
source "$(dirname "$0")/lib.sh" "$@"

mt_fresh_mount 1024

# The whole of /usr/include takes minutes while the allocator scans
# bitmaps linearly (docs/fuse.md); MT_TREE=/usr/include runs it.
src=${MT_TREE:-/usr/include/linux}
check "cp -a $src" cp -a "$src" "$mnt/include"
check "diff -r after cp -a" diff -r "$src" "$mnt/include"
check "tar out of the mount" tar -C "$mnt" -cf "$MT_TMP/inc.tar" include
mkdir "$mnt/untar"
check "tar into the mount" tar -C "$mnt/untar" -xf "$MT_TMP/inc.tar"
check "diff -r after tar round trip" diff -r "$src" "$mnt/untar/include"
check "same file count" test "$(find "$src" | wc -l)" -eq "$(find "$mnt/include" | wc -l)"

cd "$mnt" || exit 1
check "ls -l" sh -c "ls -l include >/dev/null"
check "du" sh -c "du -sh include >/dev/null"
check "df shows the mount" sh -c "df -h . | grep -q cardfs.img || df . | tail -1 | grep -q '$image'"
check "touch -d sets mtime" touch -d "2001-02-03 04:05:06" stamp
check "mtime reads back" test "$(stat -c %y stamp)" = "2001-02-03 04:05:06.000000000 +0000" -o \
  "$(date -d "$(stat -c %y stamp)" +%s)" = "$(date -d "2001-02-03 04:05:06" +%s)"
check "chmod" chmod 0750 stamp
check "mode reads back" test "$(stat -c %a stamp)" = 750
check "chown" chown 1234:5678 stamp
check "owner reads back" test "$(stat -c %u:%g stamp)" = 1234:5678
check "ln (hard link)" ln stamp stamp.link
check "link count 2" test "$(stat -c %h stamp)" = 2
check "same inode" test "$(stat -c %i stamp)" = "$(stat -c %i stamp.link)"
first=$(cd include && find . -type f | head -1)
check "ln -s" ln -s "include/$first" sym
check "symlink target" test "$(readlink sym)" = "include/$first"
check "through the symlink" cmp sym "$src/$first"
mkdir -p a/b c
echo data >a/b/f
check "mv across directories" mv a/b c/
check "moved file" test "$(cat c/b/f)" = data
check "old place empty" test -z "$(ls a)"
check "find" test "$(find c -type f | wc -l)" = 1
check "stat of a directory" test "$(stat -c %F c)" = directory
check "rm -rf the tree" rm -rf include untar
check "tree gone" test ! -e include
check "hidden control dir not listed" sh -c '! ls -a | grep -q cardfs'
cd /
check "statfs after rm -rf" sh -c "df \"$mnt\" >/dev/null"
mt_umount "$mnt"
mt_pass
