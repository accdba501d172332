#!/usr/bin/env bash
# `cardfs umount` returns once the daemon has exited, even while its
# parent has not reaped it yet (regression: an init that reaps lazily, as
# a container's does, left each exited daemon a zombie for ~1.2 s, and
# umount, polling kill(pid, 0), waited for the reaping: most of a
# crashtest state's time). Here the test's python is the daemon's parent
# (a child subreaper) and reaps it only after umount returned: umount must
# return within seconds and exit 0, the daemon a zombie, the image free.
source "$(dirname "$0")/lib.sh" "$@"

image=$MT_TMP/card.img
mnt=$MT_TMP/mnt
mkdir "$mnt"
check "make image" mt_make_image "$image" 64
MT_MOUNTS+=("$mnt|$image|")  # cleanup unmounts it whatever happens below
out=$(mt_bounded 120 python3 - "$CARDFS" "$image" "$mnt" <<'PY'
import ctypes, os, subprocess, sys, time
cardfs, image, mnt = sys.argv[1:4]
PR_SET_CHILD_SUBREAPER = 36
if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
    sys.exit("prctl(PR_SET_CHILD_SUBREAPER) failed")
subprocess.run([cardfs, "mount", image, mnt], check=True, timeout=60)
pid = int(open(mnt + "/.cardfs/pid").read())
with open(mnt + "/file", "w") as f:
    f.write("x" * 100000)
start = time.monotonic()
rc = subprocess.run([cardfs, "umount", mnt, "--timeout", "20"], timeout=60).returncode
took = time.monotonic() - start
state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
os.waitpid(pid, 0)  # the daemon is this process's child now: reap it
print(f"{rc} {took:.2f} {state}")
PY
)
mt_log "umount exit, seconds, the daemon's state before it was reaped: $out"
read -r rc took state <<<"$out"
check "umount exited 0" test "${rc:-x}" = 0
check "within 10 s, not waiting for the reaping" python3 -c "import sys; sys.exit(not float('${took:-99}') < 10)"
check "the daemon was an unreaped zombie meanwhile" test "${state:-x}" = Z
check "the image is released" flock -n -x "$image" true
[ "${rc:-x}" = 0 ] && mt_forget_mount "$mnt"
mt_pass
