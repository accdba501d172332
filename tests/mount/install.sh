#!/usr/bin/env bash
# The installed copy as mkfs(8), fsck(8), mount(8) and umount(8) find it:
# `cmake --install` into a staging root (DESTDIR), then, in a private mount
# namespace, the staged /usr/local and /sbin laid over the real ones
# (read-only overlays) and a private /etc/fstab bound over the real one. The
# real system is never written: nothing is installed outside $MT_TMP.
# Tested there with a fixed PATH (build/ is not on it), as boot and sudo run:
#   mkfs -t cardfs, fsck -t cardfs, mount -t fuse.cardfs IMG DIR -o ...,
#   an fstab line + `mount DIR`, `umount DIR` (with umount.fuse.cardfs, when
#   installed, the image is free as soon as umount returns).
source "$(dirname "$0")/lib.sh" "$@"
build=$(dirname "$CARDFS")
root=$MT_TMP/root
image=$MT_TMP/card.img
mnt=$MT_TMP/mnt
mkdir "$mnt"

check "cmake --install into DESTDIR" \
  env DESTDIR="$root" cmake --install "$build" --prefix /usr/local
installed() { [ -x "$root$1" ] && [ "$(readlink -f "$root$1")" = "$root/usr/local/bin/cardfs" ]; }
for f in /usr/local/bin/cardfs /usr/local/sbin/mkfs.cardfs /usr/local/sbin/fsck.cardfs \
         /usr/local/sbin/mount.fuse.cardfs; do
  check "installed: $f" installed "$f"
done
# mount(8) runs /sbin/mount.<type> only (no PATH search): an absolute link.
check "installed: /sbin/mount.fuse.cardfs -> /usr/local/bin/cardfs" \
  test "$(readlink "$root/sbin/mount.fuse.cardfs")" = /usr/local/bin/cardfs
[ -d "$root/usr/local/bin" ] && [ -d "$root/sbin" ] || mt_pass

printf '# private to this test\n%s %s fuse.cardfs defaults,nofail,dirty_ratio=33 0 0\n' \
  "$image" "$mnt" >"$MT_TMP/fstab"

# Runs in the namespace: one line per step, exit status = failures.
inside() {
  local fails=0
  step() {
    local what=$1; shift
    local run=(timeout -k 5 90)
    [ "$(type -t "$1")" = function ] && run=()  # these bound their own waits
    if "${run[@]}" "$@"; then echo "  ok: $what"; else echo "  FAIL: $what"; fails=$((fails + 1)); fi
  }
  up() {  # want: mounted by the installed binary, with the -o/fstab tunable
    grep -q " $mnt fuse.cardfs " /proc/self/mounts || { echo "$mnt not mounted"; return 1; }
    local pid; pid=$(cat "$mnt/.cardfs/pid")
    echo "$pid" >>"$MT_TMP/daemons"
    [ "$(readlink "/proc/$pid/exe")" = /usr/local/bin/cardfs ] || { echo "daemon runs $(readlink "/proc/$pid/exe")"; return 1; }
    [ "$(cat "$mnt/.cardfs/vm/dirty_ratio")" = "$1" ]
  }
  down() {  # umount; with the unmount helper the daemon is done when it returns
    timeout -k 5 90 umount "$mnt" || return 1
    if [ -e /sbin/umount.fuse.cardfs ]; then ! mnt_image_locked "$image"; else mnt_wait_unlocked "$image" 60; fi
  }
  mount -t overlay overlay -o "lowerdir=$root/usr/local:/usr/local" /usr/local || return 99
  mount -t overlay overlay -o "lowerdir=$root/sbin:$(readlink -f /sbin)" "$(readlink -f /sbin)" || return 99
  mount --bind "$MT_TMP/fstab" /etc/fstab || return 99
  export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  step "mkfs -t cardfs" mkfs -t cardfs --profile class10 --size 64M "$image"
  step "fsck -t cardfs -f -n" fsck -t cardfs -f -n "$image"
  step "mount -t fuse.cardfs IMG DIR -o dirty_ratio=31" mount -t fuse.cardfs "$image" "$mnt" -o dirty_ratio=31
  step "the installed daemon serves it" up 31
  step "a file on it" sh -c "echo hello >'$mnt/f'"
  step "umount DIR" down
  step "mount DIR (the fstab line)" mount "$mnt"
  step "the installed daemon serves it, fstab options" up 33
  step "the file is there" grep -qx hello "$mnt/f"
  step "umount DIR" down
  grep -q " $mnt " /proc/self/mounts && umount -l "$mnt"
  return "$fails"
}
run_inside() {
  export -f inside mnt_image_locked mnt_wait_unlocked
  export root image mnt MT_TMP
  mt_bounded 300 unshare -m --propagation private bash -c inside
}
check "mkfs(8), fsck(8), mount(8), fstab and umount(8) with the installed copy" run_inside
# A daemon that outlived its namespace (a failed step) must not stay.
if ! mt_wait_unlocked "$image" 30; then
  mt_fail "a daemon still holds $image"
  [ -f "$MT_TMP/daemons" ] && xargs -r kill -9 <"$MT_TMP/daemons" 2>/dev/null
fi
check "the real /etc/fstab does not name the test's mount" sh -c "! grep -q '$mnt' /etc/fstab"
mt_pass
