#!/usr/bin/env bash
# Power cuts a user causes (issue 16): .cardfs/powercut ("after N [torn]",
# "now") and -o powercut_after=N. After the cut every write and fsync fails
# with EIO, reading powercut says the power is off, the unmount returns
# (bounded) and releases the image, and the next mount powers the card on:
# what was synced before the cut is there, fsck -p leaves it clean.
# .cardfs/mark puts its text into a running trace and the card's command
# log (record=), as blktrace's message notes.
source "$(dirname "$0")/lib.sh" "$@"

mt_fresh_mount 64
log=$MT_TMP/cmdlog
trace=$MT_TMP/qtrace
mt_umount "$mnt"

# Synced data survive; then the cut; then the card is dead until unmount.
cut_round() {  # $1: what to write to powercut, $2..: extra mount options
  local how=$1; shift
  mt_mount "$image" "$mnt" "$@" || return 1
  local kept=$mnt/kept.$how
  [ "$how" = mount-option ] && kept=$mnt/kept.now  # no room before the cut: an earlier round's
  if [ "$how" != mount-option ]; then
    head -c 300000 /dev/urandom >"$MT_TMP/kept.$how" && cp "$MT_TMP/kept.$how" "$kept"
    check "$how: sync before the cut" "$CARDFS" sync "$mnt"
  fi
  if [ -n "$how" ] && [ "$how" != mount-option ]; then
    check "$how: armed" bash -c "echo '$how' > '$mnt/.cardfs/powercut'"
    case $how in
      now) ;;
      *) check "$how: reading powercut shows it armed" grep -q "^${how} (" "$mnt/.cardfs/powercut" ;;
    esac
  fi
  check "$how: a write with fsync fails with EIO after the cut" \
    bash -c "! dd if=/dev/urandom of='$mnt/lost.$how' bs=64k count=64 conv=fsync 2>'$MT_TMP/dd.err' && grep -q 'Input/output error' '$MT_TMP/dd.err'"
  check "$how: reading powercut says the power is off" grep -q "^power off" "$mnt/.cardfs/powercut"
  check "$how: the unmount returns and frees the image" mt_umount "$mnt"
  check "$how: fsck -p after power-on" bash -c "'$CARDFS' fsck -p '$image'; [ \$? -le 1 ]"
  check "$how: fsck -n is clean" "$CARDFS" fsck -n "$image"
  mt_mount "$image" "$mnt" || return 1
  check "$how: what was synced before the cut is intact" cmp "$MT_TMP/kept.${kept##*.}" "$kept"
  check "$how: the card works again" bash -c "echo again > '$mnt/again.$how' && '$CARDFS' sync '$mnt'"
  mt_umount "$mnt"
}

cut_round "after 3"
cut_round "after 2 torn"
cut_round now
# The option counts from the mount's own first command (a fresh mount
# reads about 8): enough for the mount, not for the 4 MiB write.
cut_round mount-option -o powercut_after=20

# Markers: into the queue's trace and the card's command log.
mt_mount "$image" "$mnt" -o "record=$log,trace=$trace" || mt_pass
check "reading powercut when nothing is armed" grep -qx off "$mnt/.cardfs/powercut"
check "bad powercut lines are refused" bash -c "! echo 'after x' > '$mnt/.cardfs/powercut'"
echo data >"$mnt/m" && "$CARDFS" sync "$mnt"
check "a mark is written" bash -c "echo 'committed 41' > '$mnt/.cardfs/mark'"
mt_umount "$mnt"
check "the mark is a message note in the trace (blkparse's 'm N')" \
  bash -c "'$CARDFS' trace '$trace' >/dev/null && grep -qa 'committed 41' '$trace'.blktrace.*"
check "the mark is in the card's command log" grep -qa "committed 41" "$log.blktrace.0"
if command -v blkparse >/dev/null; then
  check "blkparse shows the mark" bash -c "blkparse -i '$log' | grep -q ' m   N committed 41'"
fi
check "the command log replays as a trace" "$CARDFS" replay "$log" --profile class10
mt_pass
