#!/usr/bin/env bash
# POSIX ACLs with -o acl (and allow_other, so that another user may enter): setfacl/getfacl round trips, the kernel enforcing
# them for another user (nobody, through setpriv: the named entry grants
# what the mode refuses, the mask limits it, a named deny wins over
# other::), chmod keeping the mask in step, default ACLs inherited by
# files and directories (the umask ignored under them and applied
# elsewhere), everything kept across a remount, and fsck clean after.
source "$(dirname "$0")/lib.sh" "$@"
chmod 755 "$MT_TMP"  # nobody acts on the mount below
image=$MT_TMP/card.img
mnt=$MT_TMP/mnt
mkdir "$mnt"
check "make image" mt_make_image "$image" 64
mt_mount "$image" "$mnt" -o acl,allow_other || mt_pass
check "-o acl mounts with default_permissions" grep -q " $mnt fuse.cardfs .*default_permissions" /proc/mounts
chmod 755 "$mnt"

as_nobody() { mt_bounded 30 setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
perms() { getfacl -cp "$1" 2>/dev/null | grep -v '^$' | tr '\n\t' '  '; }

echo secret >"$mnt/f"; chmod 600 "$mnt/f"
check "nobody cannot read a 0600 file" sh -c "! setpriv --reuid=65534 --regid=65534 --clear-groups cat '$mnt/f' 2>/dev/null"
check "setfacl -m u:nobody:r" setfacl -m u:nobody:r "$mnt/f"
check "getfacl shows the entry and the mask" \
  test "$(perms "$mnt/f")" = "user::rw- user:nobody:r-- group::--- mask::r-- other::--- "
check "the mode's group bits are the mask" test "$(stat -c %a "$mnt/f")" = 640
check "the kernel lets nobody read through the ACL" test "$(as_nobody cat "$mnt/f")" = secret
check "but not write" sh -c "! setpriv --reuid=65534 --regid=65534 --clear-groups sh -c 'echo x >>$mnt/f' 2>/dev/null"
check "chmod 600 (mask ---)" chmod 600 "$mnt/f"
check "chmod rewrote the mask" sh -c "getfacl -cp '$mnt/f' | grep -qx 'mask::---'"
check "the mask now refuses nobody" sh -c "! setpriv --reuid=65534 --regid=65534 --clear-groups cat '$mnt/f' 2>/dev/null"
check "chmod 640 gives the entry back" chmod 640 "$mnt/f"
check "nobody reads again" test "$(as_nobody cat "$mnt/f")" = secret
echo open >"$mnt/g"; chmod 644 "$mnt/g"
check "a named deny" setfacl -m u:nobody:- "$mnt/g"
check "wins over other::r" sh -c "! setpriv --reuid=65534 --regid=65534 --clear-groups cat '$mnt/g' 2>/dev/null"
check "setfacl -b removes the ACL" setfacl -b "$mnt/g"
check "and nobody reads by the mode" test "$(as_nobody cat "$mnt/g")" = open
check "no access ACL is left stored" sh -c "! getfattr -n system.posix_acl_access '$mnt/g' 2>/dev/null"

mkdir "$mnt/d"
check "setfacl -d (a default ACL)" setfacl -d -m u:nobody:rwx,g::r-x,o::- "$mnt/d"
(umask 077 && echo new >"$mnt/d/file" && mkdir "$mnt/d/sub")
check "a new file inherits the default ACL, umask 077 ignored" \
  test "$(perms "$mnt/d/file")" = "user::rw- user:nobody:rwx #effective:rw- group::r-x #effective:r-- mask::rw- other::--- "
check "its mode is the create mode narrowed by the ACL" test "$(stat -c %a "$mnt/d/file")" = 660
check "a new directory inherits it as access and default ACL" \
  sh -c "getfacl -cp '$mnt/d/sub' | grep -qx 'default:user:nobody:rwx' && getfacl -cp '$mnt/d/sub' | grep -qx 'user:nobody:rwx'"
check "nobody writes the inherited file" as_nobody sh -c "echo more >>'$mnt/d/file'"
(umask 027 && echo plain >"$mnt/plain")
check "without a default ACL the umask applies" test "$(stat -c %a "$mnt/plain")" = 640

mt_umount "$mnt"
mt_mount "$image" "$mnt" -o acl,allow_other || mt_pass
check "ACLs kept across a remount" \
  test "$(perms "$mnt/f")" = "user::rw- user:nobody:r-- group::--- mask::r-- other::--- "
check "default ACL kept" sh -c "getfacl -cp '$mnt/d' | grep -qx 'default:user:nobody:rwx'"
check "still enforced after the remount" test "$(as_nobody cat "$mnt/f")" = secret
mt_umount "$mnt"
mt_mount "$image" "$mnt" || mt_pass
check "without -o acl they are refused, not shown" sh -c "! getfattr -n system.posix_acl_access '$mnt/f' 2>/dev/null"
mt_umount "$mnt"
check "fsck is clean" mt_bounded 120 "$CARDFS" fsck -n "$image"
mt_pass
