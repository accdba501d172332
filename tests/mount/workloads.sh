#!/usr/bin/env bash
# Real programs on the mount, both data modes: dd, fio with crc32c
# verification (buffered, O_DIRECT, mmap, several jobs), sqlite3 with
# integrity_check, git init/add/commit/fsck. Sizes are kept small so the
# whole run stays within a couple of minutes.
source "$(dirname "$0")/lib.sh" "$@"

image=$MT_TMP/card.img
mnt=$MT_TMP/mnt
mkdir "$mnt"
check "make image" mt_make_image "$image" 512

fio_job() {  # fio_job NAME extra-args...: write then verify with crc32c
  local name=$1; shift
  mt_bounded 120 fio --name="$name" --directory="$mnt" --size=16M --bs=64k \
    --verify=crc32c --verify_fatal=1 --do_verify=1 --verify_state_save=0 --group_reporting \
    --output="$MT_TMP/fio-$name.txt" "$@"
}

for mode in default direct_io; do
  opts=(); [ $mode = direct_io ] && opts=(-o direct_io)
  mt_mount "$image" "$mnt" "${opts[@]}" || mt_pass
  check "$mode: dd write 64M" dd if=/dev/urandom of="$MT_TMP/src" bs=1M count=64 status=none
  check "$mode: dd into the mount" dd if="$MT_TMP/src" of="$mnt/dd" bs=1M conv=fsync status=none
  check "$mode: dd O_DIRECT read back" sh -c "dd if='$mnt/dd' bs=1M iflag=direct status=none | cmp - '$MT_TMP/src'"
  check "$mode: fio sequential" fio_job seq --rw=write
  check "$mode: fio random" fio_job rand --rw=randwrite --bs=4k --size=8M
  check "$mode: fio O_DIRECT, 4 jobs" fio_job direct --rw=randwrite --direct=1 --bs=4k --size=4M --numjobs=4
  if [ $mode = default ]; then
    check "$mode: fio mmap engine" fio_job mmap --ioengine=mmap --rw=randwrite --bs=4k --size=4M
  fi
  rm -f "$mnt"/seq* "$mnt"/rand* "$mnt"/direct* "$mnt"/mmap* "$mnt/dd"
  mt_umount "$mnt"
done

mt_mount "$image" "$mnt" || mt_pass
check "sqlite3: 10 000 rows in transactions" sh -c "cd '$mnt' && {
  echo 'PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);'
  for b in \$(seq 0 9); do
    echo 'BEGIN;'
    seq \$((b * 1000 + 1)) \$((b * 1000 + 1000)) | sed \"s/.*/INSERT INTO t VALUES(&, hex(randomblob(32)));/\"
    echo 'COMMIT;'
  done; } | sqlite3 db.sqlite >/dev/null"
check "sqlite3: count" test "$(sqlite3 "$mnt/db.sqlite" 'SELECT count(*) FROM t')" = 10000
check "sqlite3: integrity_check" test "$(sqlite3 "$mnt/db.sqlite" 'PRAGMA integrity_check')" = ok
check "git init/add/commit/fsck" sh -c "cd '$mnt' && mkdir repo && cd repo && git init -q &&
  cp -r /usr/include/linux/netfilter . && git add -A && git -c user.name=t -c user.email=t@t commit -qm one &&
  git fsck --full 2>&1 && git status --porcelain | wc -l | grep -qx 0"
mt_umount "$mnt"
mt_mount "$image" "$mnt" || mt_pass
check "sqlite3 after remount" test "$(sqlite3 "$mnt/db.sqlite" 'PRAGMA integrity_check')" = ok
check "git fsck after remount" sh -c "cd '$mnt/repo' && git fsck --full >/dev/null 2>&1"
mt_umount "$mnt"
mt_pass
