#!/usr/bin/env bash
# POSIX permission checks through the mount, in both of cardfs's modes:
#  - allow_other: the kernel checks (default_permissions); the tester is
#    nobody (uid 65534), the other files belong to root;
#  - a mount without allow_other: the daemon checks (no
#    default_permissions; only uid 0 may enter a root mount), so the tester
#    is root without any capability (setpriv's empty bounding set) and the
#    other files belong to nobody. Root with its capabilities is checked to
#    pass where the capabilities allow it.
# The same list of calls must fail with EACCES / EPERM in both, and the
# allowed ones succeed. Each mode sets the files up, remounts (so no name
# or attribute is cached in the kernel from the setup), then runs the list.
source "$(dirname "$0")/lib.sh" "$@"

chmod 755 "$MT_TMP"  # nobody acts on the mount below
image=$MT_TMP/card.img
mnt=$MT_TMP/mnt
mkdir "$mnt"
check "make image" mt_make_image "$image" 128

# tester PYTHON: runs the statements as the tester in $mnt and prints the
# errno name they fail with, or OK.
tester() {
  mt_bounded 60 "${AS[@]}" /usr/bin/python3 -c "import os, errno, subprocess
os.chdir('$mnt')
try:
    $1
    print('OK')
except OSError as e:
    print(errno.errorcode[e.errno])"
}
expect() {  # expect WHAT ERRNO|OK PYTHON
  local got
  got=$(tester "$3" 2>&1)
  if [ "$got" = "$2" ]; then mt_log "ok: $1 ($2)"; else mt_fail "$1: expected $2, got $got"; fi
}

# setup OTHER_UID TESTER_UID: as root, files of both users with the modes
# the list needs (the tester's group is never the other files' group).
setup() {
  local o=$1 t=$2
  cd "$mnt" || return 1
  mkdir own dir priv xonly sticky && chmod 1777 sticky && chmod 777 own
  echo secret >secret && echo pub >pub && echo open >open && echo any >any
  chmod 600 secret; chmod 644 pub; chmod 666 open any
  touch dir/victim priv/inner xonly/known sticky/theirs
  chmod 700 priv; chmod 711 xonly
  chown -R "$o:$o" secret pub open any dir priv xonly sticky/theirs
  chown "$o:$o" sticky
  setfattr -n user.a -v 1 pub && setfattr -n user.a -v 1 secret
  touch own/mine sticky/mine own/g && printf '#!/bin/sh\ntrue\n' >own/script
  chmod 677 own/script
  chown -R "$t:$t" own sticky/mine && chown "$t:$o" own/g
  cd / || return 1
}

run_list() {
  expect "read another's 0600 file" EACCES "open('secret').read()"
  expect "read another's 0644 file" OK "open('pub').read()"
  expect "write another's 0644 file" EACCES "open('pub', 'a')"
  expect "write another's 0666 file" OK "open('open', 'a').write('x')"
  expect "truncate another's 0644 file" EACCES "os.truncate('pub', 0)"
  expect "create in another's 0755 dir" EACCES "open('dir/new', 'w')"
  expect "mkdir in another's 0755 dir" EACCES "os.mkdir('dir/new')"
  expect "symlink in another's 0755 dir" EACCES "os.symlink('x', 'dir/new')"
  expect "unlink in another's 0755 dir" EACCES "os.unlink('dir/victim')"
  expect "rename out of another's 0755 dir" EACCES "os.rename('dir/victim', 'own/v')"
  expect "lookup in another's 0700 dir" EACCES "os.stat('priv/inner')"
  expect "list another's 0711 dir" EACCES "os.listdir('xonly')"
  expect "lookup in another's 0711 dir" OK "os.stat('xonly/known')"
  expect "chdir into another's 0700 dir" EACCES "os.chdir('priv')"
  expect "access(W) of another's 0644 file" OK "assert not os.access('pub', os.W_OK)"
  expect "access(R) of another's 0644 file" OK "assert os.access('pub', os.R_OK)"
  expect "sticky dir: remove another's file" EPERM "os.unlink('sticky/theirs')"
  expect "sticky dir: rename another's file" EPERM "os.rename('sticky/theirs', 'sticky/x')"
  expect "sticky dir: remove one's own file" OK "os.unlink('sticky/mine')"
  expect "chmod another's file" EPERM "os.chmod('open', 0o777)"
  expect "chown one's file away" EPERM "os.chown('own/mine', $OTHER, -1)"
  expect "chgrp one's file to a foreign group" EPERM "os.chown('own/mine', -1, $OTHER)"
  expect "set explicit times on another's 0666 file" EPERM "os.utime('any', (1, 1))"
  expect "touch (now) another's 0666 file" OK "os.utime('any', None)"
  expect "touch (now) another's 0644 file" EACCES "os.utime('pub', None)"
  expect "hard link to another's 0600 file" EPERM "os.link('secret', 'own/l')"
  expect "hard link to another's 0666 file" OK "os.link('open', 'own/l')"
  expect "set user.* on another's 0644 file" EACCES "os.setxattr('pub', 'user.b', b'1')"
  expect "get user.* of another's 0600 file" EACCES "os.getxattr('secret', 'user.a')"
  expect "get user.* of another's 0644 file" OK "os.getxattr('pub', 'user.a')"
  expect "exec one's own 0677 script (no owner x)" EACCES "subprocess.run(['./own/script'])"
  expect "write one's own file after chmod 0444" EACCES "os.chmod('own/mine', 0o444); open('own/mine', 'a')"
  expect "chmod g+s with a foreign group drops the bit" OK \
    "os.chmod('own/g', 0o2755); assert os.stat('own/g').st_mode & 0o7777 == 0o755"
  expect "create, rename, unlink in one's own dir" OK \
    "open('own/a', 'w').write('a'); os.rename('own/a', 'own/b'); os.unlink('own/b')"
}

# ---- the kernel checks: allow_other, tester nobody, other files root's
mt_mount "$image" "$mnt" -o allow_other || mt_pass
check "allow_other mounts with default_permissions" grep -q " $mnt fuse.cardfs .*default_permissions" /proc/mounts
check "setup" setup 0 65534
mt_umount "$mnt"
mt_mount "$image" "$mnt" -o allow_other || mt_pass
AS=(setpriv --reuid=65534 --regid=65534 --clear-groups) OTHER=0
run_list
mt_umount "$mnt"

# ---- the daemon checks: no allow_other, tester root without capabilities
rm -f "$image"
check "make a second image" mt_make_image "$image" 128
mt_mount "$image" "$mnt" || mt_pass
check "a private mount has no default_permissions" \
  sh -c "! grep -q ' $mnt fuse.cardfs .*default_permissions' /proc/mounts"
check "setup" setup 65534 0
mt_umount "$mnt"
mt_mount "$image" "$mnt" || mt_pass
AS=(setpriv --bounding-set=-all --inh-caps=-all) OTHER=65534
run_list
AS=() OTHER=65534
expect "root with its capabilities reads another's 0600 file" OK "open('secret').read()"
expect "root with its capabilities lists another's 0700 dir" OK "os.listdir('priv')"
expect "root with its capabilities chmods another's file" OK "os.chmod('open', 0o640)"
expect "root with its capabilities cannot exec a file without x" EACCES \
  "open('own/nox', 'w').write('#!/bin/sh\n'); subprocess.run(['./own/nox'])"
mt_umount "$mnt"
check "fsck is clean" mt_bounded 120 "$CARDFS" fsck -n "$image"
mt_pass
