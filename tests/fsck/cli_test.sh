#!/bin/sh
# fsck.cardfs and cardfs inspect as processes: exit codes, the refusal to
# repair an image in use, and JSON that parses. $1: the cardfs binary.
set -u
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir" || exit 1
ln -s "$bin" fsck.cardfs
ln -s "$bin" mkfs.cardfs
fail=0
expect() {  # expect CODE DESCRIPTION COMMAND...
  want=$1; what=$2; shift 2
  "$@" >out.txt 2>&1 </dev/null
  got=$?
  if [ "$got" -ne "$want" ]; then
    echo "FAIL: $what: exit $got, expected $want"; cat out.txt; fail=1
  else
    echo "ok: $what"
  fi
}
./mkfs.cardfs img --size 16M -b 1024 -q || { echo "mkfs failed"; exit 1; }
expect 0 "fresh image checks clean" ./fsck.cardfs -fn img
expect 0 "clean image skipped without -f" ./fsck.cardfs -n img
expect 0 "yes mode on a clean image" ./fsck.cardfs -fy img
expect 0 "preen on a clean image" ./fsck.cardfs -p img
expect 0 "card metadata" ./fsck.cardfs --card-only img
expect 8 "no mode and no terminal" ./fsck.cardfs -f img
expect 16 "conflicting modes" ./fsck.cardfs -ny img
expect 16 "unknown option" ./fsck.cardfs -Q img
expect 16 "no image" ./fsck.cardfs -fn
expect 8 "missing image" ./fsck.cardfs -fn nothere
if command -v flock >/dev/null 2>&1; then
  expect 8 "refuses to repair an image in use" flock -n img ./fsck.cardfs -fy img
  expect 0 "checks an image in use read-only" flock -n img ./fsck.cardfs -fn img
fi
expect 0 "inspect super" "$bin" inspect img super
if command -v python3 >/dev/null 2>&1; then
  for c in super groups "ls -l /" "stat /lost+found" card "au 0" frag "ffb 2" "ffi 2"; do
    # shellcheck disable=SC2086
    "$bin" inspect --json img $c >j.txt 2>&1 && python3 -m json.tool j.txt >/dev/null 2>&1 \
      && echo "ok: inspect --json $c" || { echo "FAIL: inspect --json $c"; cat j.txt; fail=1; }
  done
fi
echo "quit" | "$bin" inspect img >/dev/null 2>&1 || { echo "FAIL: inspect prompt"; fail=1; }
# inspect --write: needs --yes without a terminal, refuses an image in use.
"$bin" inspect img stat '<11>' >before.txt
expect 1 "inspect --write without --yes and no terminal" "$bin" inspect --write img set_inode_field 11 uid 7
"$bin" inspect img stat '<11>' >after.txt
cmp -s before.txt after.txt || { echo "FAIL: inspect --write without --yes changed inode 11"; fail=1; }
expect 1 "a write command without --write" "$bin" inspect img clri 11
expect 2 "--yes without --write" "$bin" inspect --yes img super
if command -v flock >/dev/null 2>&1; then
  expect 1 "inspect --write refuses an image in use" flock -n img "$bin" inspect --write --yes img seti 20
fi
expect 0 "inspect --write --yes set_inode_field" "$bin" inspect --write --yes img set_inode_field 11 links_count 9
expect 4 "fsck finds the link count inspect wrote" ./fsck.cardfs -fn img
expect 0 "inspect --write --yes puts it back" "$bin" inspect --write --yes img set_inode_field 11 links_count 2
expect 0 "clean again" ./fsck.cardfs -fn img
# Issue 22 item 4: -C FD speaks e2fsck's completion protocol ("pass cur max
# device" lines, passes in order, ending at pass 5 done), which fsck(8) and
# systemd-fsck read; -C 0 draws e2fsck's bar, on a terminal only.
cr=$(printf '\r')
expect 0 "fsck -C 3" sh -c './fsck.cardfs -fn -C 3 img 3>progress.txt'
awk -v dev=img '
  NF != 4 || $1 !~ /^[1-5]$/ || $2 !~ /^[0-9]+$/ || $3 !~ /^[0-9]+$/ || $2 + 0 > $3 + 0 ||
    $1 < pass || $4 != dev { bad = 1 }
  { pass = $1; cur = $2; max = $3 }
  END { exit bad || NR == 0 || pass != 5 || cur != max }' progress.txt \
  && echo "ok: -C 3 lines are e2fsck's" || { echo "FAIL: -C 3 lines"; cat progress.txt; fail=1; }
grep -q "$cr" out.txt && { echo "FAIL: -C 3 drew on stdout"; fail=1; }
expect 0 "fsck -C 0, output not a terminal" ./fsck.cardfs -fn -C 0 img
grep -q "$cr" out.txt && { echo "FAIL: a bar on a pipe"; cat out.txt; fail=1; }
if command -v script >/dev/null 2>&1; then
  script -qec "./fsck.cardfs -fn -C 0 img" /dev/null >tty.txt 2>&1 </dev/null
  grep -q "img: |=*.*100.0%" tty.txt && grep -q "Pass 5" tty.txt \
    && echo "ok: -C 0 draws the bar on a terminal" || { echo "FAIL: no bar on a terminal"; od -c tty.txt | head; fail=1; }
fi
expect 8 "fsck -C on a closed descriptor" ./fsck.cardfs -fn -C 9 img
# Issue 15 item 10: an error names the image once ("x.img: x.img: truncated image").
head -c 200000 img >short.img
expect 8 "a truncated card image" ./fsck.cardfs -fn short.img
grep -q "short.img: truncated image" out.txt && ! grep -q "short.img: short.img" out.txt \
  && echo "ok: the image is named once" || { echo "FAIL: image named twice or not at all"; cat out.txt; fail=1; }
# Issue 15 item 2: tools that write an image refuse one whose lock is held
# (a mount daemon holds it; tests/mount/image_in_use.sh names the mount point).
if command -v flock >/dev/null 2>&1; then
  expect 1 "mkfs -F refuses an image in use" flock -n img ./mkfs.cardfs -F -q img
  grep -q "is in use: held by process .*-F -F overrides" out.txt \
    && echo "ok: mkfs says who holds it" || { echo "FAIL: mkfs message"; cat out.txt; fail=1; }
  mkdir exp
  expect 1 "card export refuses an image in use" flock -n img "$bin" card export img exp
  grep -q "is in use" out.txt && echo "ok: export says why" || { echo "FAIL: export message"; cat out.txt; fail=1; }
  expect 0 "mkfs -F -F overrides" flock -n img ./mkfs.cardfs -F -F -q img
  expect 0 "and made a clean filesystem" ./fsck.cardfs -fn img
fi
exit $fail
