#!/usr/bin/env bash
# Extended attributes on a real mount: setfattr/getfattr in every supported
# namespace, the errno of each refusal (XATTR_CREATE/REPLACE, missing names,
# short buffers, a full block, POSIX ACLs), cp -a --preserve=all and
# tar --xattrs round trips, persistence across a remount, read-only mounts,
# and a clean fsck of the image afterwards.
source "$(dirname "$0")/lib.sh" "$@"

mt_fresh_mount 128

# Python's os module and ctypes reach the flags and buffer sizes setfattr hides.
xattr_errno() {  # op path name [value flags|size] -> prints the errno (0: success)
  python3 - "$@" <<'PY'
import ctypes, errno, os, sys
op, path, name = sys.argv[1:4]
libc = ctypes.CDLL(None, use_errno=True)
try:
    if op == "set":
        os.setxattr(path, name, sys.argv[4].encode(), int(sys.argv[5]))
    elif op == "get":
        os.getxattr(path, name)
    elif op == "setacl":  # an access ACL of user::, group::, other:: from octal perms "740"
        import struct
        tags = (0x01, 0x04, 0x20)
        os.setxattr(path, name, struct.pack("<I", 2) + b"".join(
            struct.pack("<HHI", t, int(p), 0xffffffff) for t, p in zip(tags, sys.argv[4])))
    elif op == "remove":
        os.removexattr(path, name)
    elif op == "getsize":  # getxattr with a buffer of the given size
        n = int(sys.argv[4]); buf = ctypes.create_string_buffer(max(n, 1))
        if libc.getxattr(path.encode(), name.encode(), buf, n) < 0: raise OSError(ctypes.get_errno(), "")
    elif op == "listsize":
        n = int(sys.argv[3]); buf = ctypes.create_string_buffer(max(n, 1))
        if libc.listxattr(path.encode(), buf, n) < 0: raise OSError(ctypes.get_errno(), "")
    print(0)
except OSError as e:
    # ENOTSUP and EOPNOTSUPP are one value on Linux: name it the second way.
    print("EOPNOTSUPP" if e.errno == errno.EOPNOTSUPP else errno.errorcode.get(e.errno, e.errno))
PY
}
expect() {  # expect WANT op args...
  local want=$1 got; shift
  got=$(xattr_errno "$@")
  [ "$got" = "$want" ] || { echo "$*: got $got, want $want"; return 1; }
}

cd "$mnt" || exit 1
echo data >f; mkdir d; ln -s f l
check "setfattr user." setfattr -n user.color -v blue f
check "setfattr trusted." setfattr -n trusted.t -v 0x00ff f
check "setfattr security." setfattr -n security.s -v ctx f
check "setfattr on a directory" setfattr -n user.dir -v yes d
check "getfattr value" test "$(getfattr --only-values -n user.color f)" = blue
check "getfattr -d lists user names" test "$(getfattr --absolute-names -d f | grep -c '^user\.')" = 1
check "getfattr -m - lists all namespaces" test "$(getfattr -m - -d f | grep -c '=')" = 3
check "binary value" test "$(getfattr -e hex --only-values -n trusted.t f | od -An -tx1 | tr -d ' \n')" = 00ff
check "XATTR_CREATE on an existing name: EEXIST" expect EEXIST set f user.color red 1
check "XATTR_REPLACE of a missing name: ENODATA" expect ENODATA set f user.none red 2
check "XATTR_REPLACE of an existing name" expect 0 set f user.color red 2
check "missing name: ENODATA" expect ENODATA get f user.none
check "remove missing: ENODATA" expect ENODATA remove f user.none
check "short value buffer: ERANGE" expect ERANGE getsize f user.color 2
check "exact value buffer" expect 0 getsize f user.color 3
check "short list buffer: ERANGE" expect ERANGE listsize f 4
check "unknown namespace: EOPNOTSUPP" expect EOPNOTSUPP set f other.x v 0
check "POSIX ACLs refused without -o acl: setfacl says EOPNOTSUPP" \
  sh -c "setfacl -m u:nobody:r f 2>&1 | grep -q 'Operation not supported'"
check "POSIX ACLs refused without -o acl: getxattr EOPNOTSUPP" expect EOPNOTSUPP get f system.posix_acl_access
check "POSIX ACLs refused: default ACL too" expect EOPNOTSUPP get d system.posix_acl_default
check "getfacl still shows the mode" sh -c "getfacl -c f | grep -qx 'user::rw-'"
# An ACL that says only the mode is a chmod (as on ext4; cp -a sets one on
# every file it copies and skips its own fchmod when it is taken).
echo acl >macl; chmod 600 macl; echo acl >mref
check "a mode-only access ACL without -o acl: a chmod" \
  sh -c "setfacl -m u::rwx,g::r,o::- macl && test \"\$(stat -c %a macl)\" = 740"
check "setxattr of such an ACL itself" expect 0 setacl macl system.posix_acl_access 754
check "sets the mode" test "$(stat -c %a macl)" = 754
check "and nothing stored: no attribute block" test "$(stat -c %b macl)" = "$(stat -c %b mref)"
check "and getxattr still EOPNOTSUPP" expect EOPNOTSUPP get macl system.posix_acl_access
check "removing a default ACL that is not there: ENODATA (not EOPNOTSUPP)" \
  expect ENODATA remove d system.posix_acl_default
mkdir aclsrc && echo a >aclsrc/x && chmod 751 aclsrc/x && chmod 2710 aclsrc
check "cp -a keeps modes through it" sh -c "cp -a aclsrc aclcopy && \
  test \"\$(stat -c %a aclcopy aclcopy/x | tr '\\n' ' ')\" = '2710 751 '"
rm -rf macl mref aclsrc aclcopy
check "a value larger than the block: ENOSPC or E2BIG" \
  sh -c "! setfattr -n user.big -v \"\$(head -c 5000 /dev/zero | tr '\\0' x)\" f 2>/dev/null"
check "the full block left the others alone" test "$(getfattr --only-values -n user.color f)" = red
touch empty
check "an empty file has no blocks" test "$(stat -c %b empty)" = 0
setfattr -n user.k -v v empty
check "st_blocks counts the attribute block" test "$(stat -c %b empty)" = $(($(stat -f -c %S .) / 512))
setfattr -x user.k empty
check "and gives it back with the last attribute" test "$(stat -c %b empty)" = 0
check "setfattr -x" setfattr -x security.s f
check "removed" expect ENODATA get f security.s

# Round trips: a small tree with attributes on files and directories.
mkdir -p tree/a/b
for i in 1 2 3 4 5; do echo "$i" >"tree/a/b/$i"; setfattr -n user.n -v "value $i" "tree/a/b/$i"; done
setfattr -n user.top -v dir tree/a
dump() { (cd "$1" && getfattr -R -d -m '^user\.' . 2>/dev/null | sort); }
check "cp -a --preserve=all inside the mount" cp -a --preserve=all tree tree.cp
check "cp -a kept the attributes" test "$(dump tree)" = "$(dump tree.cp)"
check "tar --xattrs out" tar --xattrs --xattrs-include='user.*' -cf "$MT_TMP/t.tar" tree
mkdir untar
check "tar --xattrs in" tar --xattrs --xattrs-include='user.*' -C untar -xf "$MT_TMP/t.tar"
check "tar kept the attributes" test "$(dump tree)" = "$(dump untar/tree)"
before=$(dump "$mnt"); before_f=$(getfattr -m - -d -e hex f)
cd / || exit 1
mt_umount "$mnt"
check "fsck -n is clean with attribute blocks" "$CARDFS" fsck -n "$image"
mt_mount "$image" "$mnt" || mt_pass
check "attributes survive remount" test "$(dump "$mnt")" = "$before"
check "every namespace survives remount" test "$(cd "$mnt" && getfattr -m - -d -e hex f)" = "$before_f"
check "rm -rf of files with attributes" rm -rf "$mnt/tree" "$mnt/tree.cp" "$mnt/untar"
mt_umount "$mnt"
check "fsck -n clean after freeing attribute blocks" "$CARDFS" fsck -n "$image"

mt_mount "$image" "$mnt" -o ro || mt_pass
check "read-only: getfattr" test "$(getfattr --only-values -n user.color "$mnt/f")" = red
check "read-only: setfattr refused" sh -c "! setfattr -n user.x -v y '$mnt/f' 2>/dev/null"
mt_umount "$mnt"

# -o noxattr: the kernel learns (ENOSYS) that there are none to ask for.
mt_mount "$image" "$mnt" -o noxattr || mt_pass
check "noxattr: getxattr EOPNOTSUPP" expect EOPNOTSUPP get "$mnt/f" user.color
check "noxattr: setxattr EOPNOTSUPP" expect EOPNOTSUPP set "$mnt/f" user.x v 0
check "noxattr: the file's data is there" test "$(cat "$mnt/f")" = data
mt_umount "$mnt"
mt_mount "$image" "$mnt" || mt_pass
check "noxattr left the attributes alone" test "$(getfattr --only-values -n user.color "$mnt/f")" = red
mt_umount "$mnt"
mt_pass
