#!/usr/bin/env bash
# stress-ng's filesystem stressors on a real mount, each for a bounded time
# (MT_STRESS_SECS, default 3 s) with --verify where it has one; every one
# must finish without errors, and the image must check clean afterwards.
# The mount runs libfuse's multi-threaded loop (-o threads=4): the other
# mount tests use the default one-thread loop, so this is where requests
# of concurrent callers run side by side in the daemon.
source "$(dirname "$0")/lib.sh" "$@"

command -v stress-ng >/dev/null || { mt_fail "stress-ng is not installed (scripts/setup.sh)"; mt_pass; }
secs=${MT_STRESS_SECS:-3}
image=$MT_TMP/card.img
mnt=$MT_TMP/mnt
mkdir "$mnt"
check "make image" mt_make_image "$image" 512
mt_mount "$image" "$mnt" -o threads=4 || mt_pass
# FUSE workers keep the main thread's name; the daemon's own threads have theirs.
check "the daemon serves on several threads" sh -c "test \$(cat /proc/$(mt_daemon_pid "$mnt")/task/*/comm | grep -cx cardfs) -ge 2"

stressor() {  # name [options...]
  local name=$1; shift
  mkdir -p "$mnt/stress-$name"
  mt_bounded $((secs + 60)) stress-ng --"$name" 2 "$@" --timeout "${secs}s" --verify \
    --temp-path "$mnt/stress-$name" --metrics-brief 2>&1 | tail -n 3
  return "${PIPESTATUS[0]}"
}
check "stress-ng --dir" stressor dir
check "stress-ng --rename" stressor rename
check "stress-ng --link" stressor link
check "stress-ng --symlink" stressor symlink
check "stress-ng --xattr" stressor xattr
check "stress-ng --hdd with verify" stressor hdd --hdd-bytes 16M --hdd-write-size 64K
check "stress-ng --fallocate" stressor fallocate --fallocate-bytes 16M
check "the daemon is still there" test -n "$(mt_daemon_pid "$mnt")"
mt_umount "$mnt"
check "fsck -n is clean after the stressors" "$CARDFS" fsck -n "$image"
mt_pass
