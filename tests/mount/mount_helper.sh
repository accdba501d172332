#!/usr/bin/env bash
# mount(8) and /etc/fstab: `mount -t fuse.cardfs` through mount.fuse3 (which
# runs `cardfs IMAGE DIR -o OPTS`), the `cardfs#IMAGE` form of type fuse,
# the mount.fuse.cardfs helper name, and an fstab line (mount -T FILE);
# SIGHUP re-reads the tunables (the -o ones and tunables=FILE) and keeps
# the mount.
source "$(dirname "$0")/lib.sh" "$@"

image=$MT_TMP/card.img
mnt=$MT_TMP/mnt
bin=$MT_TMP/bin
mkdir "$mnt" "$bin"
ln -s "$CARDFS" "$bin/cardfs"
ln -s "$CARDFS" "$bin/mount.fuse.cardfs"
check "make image" mt_make_image "$image" 64

registered() {  # after a mount made by mount(8): cleanup knows it, it is up
  MT_MOUNTS+=("$mnt|$image|$(mt_daemon_pid "$mnt")")
  mt_is_mounted "$mnt" || { echo "$mnt is not mounted"; return 1; }
}
tunable() { cat "$mnt/.cardfs/$1"; }
umount_it() { mt_bounded 60 umount "$mnt" && mt_forget_mount "$mnt" && mt_wait_unlocked "$image" 60; }

# mount(8) runs helpers with a standard PATH: in a private mount namespace,
# $bin (holding `cardfs`) is bind-mounted on the empty /usr/local/sbin, so
# mount.fuse3 finds it there without installing anything. The namespace's
# mount is checked and unmounted inside; a daemon left behind is killed.
mount8() {  # want_dirty_ratio mount(8) arguments...
  local want=$1; shift
  mt_bounded 90 unshare -m --propagation private bash -c '
    bin=$1 mnt=$2 want=$3; shift 3
    mount --bind "$bin" /usr/local/sbin || exit 1
    mount "$@" || exit 1
    cat "$mnt/.cardfs/pid" >"$bin/daemon.pid"
    got="$(cat "$mnt/.cardfs/vm/dirty_ratio") $(grep " $mnt " /proc/self/mounts | cut -d" " -f3)"
    umount "$mnt" || exit 1
    [ "$got" = "$want fuse.cardfs" ] || { echo "got $got, want $want fuse.cardfs"; exit 1; }
  ' _ "$bin" "$mnt" "$want" "$@"
  local rc=$?
  if ! mt_wait_unlocked "$image" 30; then
    kill -9 "$(cat "$bin/daemon.pid")" 2>/dev/null
    return 1
  fi
  return $rc
}

if ! command -v unshare >/dev/null || ! [ -d /usr/local/sbin ]; then
  mt_log "skipped: mount(8) tests need unshare(1) and /usr/local/sbin"
elif ! [ -x /sbin/mount.fuse3 ]; then
  mt_fail "mount.fuse3 is missing (package fuse3)"
else
  check "mount -t fuse.cardfs (mount.fuse3 runs cardfs IMAGE DIR -o OPTS)" \
    mount8 31 -t fuse.cardfs "$image" "$mnt" -o dirty_ratio=31
  check "mount -t fuse cardfs#IMAGE" mount8 32 -t fuse "cardfs#$image" "$mnt" -o dirty_ratio=32
  printf '# cardfs\n%s %s fuse.cardfs defaults,nofail,dirty_ratio=33 0 0\n' "$image" "$mnt" \
    >"$MT_TMP/fstab"
  check "mount DIR with an fstab line (mount -T FILE)" mount8 33 -T "$MT_TMP/fstab" "$mnt"
fi

# What mount(8) runs when /sbin/mount.fuse.cardfs is installed.
check "mount.fuse.cardfs IMAGE DIR -o OPTS (mount(8)'s helper call)" \
  "$bin/mount.fuse.cardfs" "$image" "$mnt" -o rw,dirty_ratio=34 -t fuse.cardfs
check "mounted" registered
check "-o reached the daemon" test "$(tunable vm/dirty_ratio)" = 34
check "umount" umount_it

# SIGHUP: re-read, never unmount.
wait_for() {  # file value: bounded poll
  local i
  for ((i = 0; i < 100; i++)); do [ "$(tunable "$1")" = "$2" ] && return 0; sleep 0.1; done
  echo "$1 is $(tunable "$1"), expected $2"; return 1
}
printf 'dirty_ratio=25   # the cache\nread_ahead_kb=64\n\n' >"$MT_TMP/tunables"
mt_mount "$image" "$mnt" -o dirty_ratio=30,tunables="$MT_TMP/tunables" || mt_pass
check "the tunables file wins over -o at mount" test "$(tunable vm/dirty_ratio)/$(tunable queue/read_ahead_kb)" = 25/64
printf 'dirty_ratio=22\nscheduler=none\n' >"$MT_TMP/tunables"
kill -HUP "$(mt_daemon_pid "$mnt")"
check "SIGHUP re-reads the tunables file" wait_for vm/dirty_ratio 22
check "every line of it" sh -c "grep -q '\[none\]' '$mnt/.cardfs/queue/scheduler'"
check "still mounted after SIGHUP" mt_is_mounted "$mnt"
echo data >"$mnt/after-hup"
printf 'allow_other\n' >"$MT_TMP/tunables"
kill -HUP "$(mt_daemon_pid "$mnt")"
sleep 0.5
check "a bad tunables file changes nothing" test "$(tunable vm/dirty_ratio)" = 22
check "and keeps the mount" test "$(cat "$mnt/after-hup")" = data
mt_umount "$mnt"
check "a bad tunables file refuses the mount" sh -c "! '$CARDFS' mount '$image' '$mnt' -o tunables='$MT_TMP/tunables' 2>/dev/null"
check "nothing mounted" sh -c "! grep -q ' $mnt ' /proc/self/mounts"

mt_mount "$image" "$mnt" -o dirty_ratio=30 || mt_pass
echo 50 >"$mnt/.cardfs/vm/dirty_ratio"
kill -HUP "$(mt_daemon_pid "$mnt")"
check "without a file, SIGHUP re-applies the -o tunables" wait_for vm/dirty_ratio 30
mt_umount "$mnt"
mt_pass
