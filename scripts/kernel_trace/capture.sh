#!/usr/bin/env bash
# Takes the kernel reference traces of tests/blockdev/data/kernel/ on this
# machine: seed 001's dd on a loop device with mq-deadline and
# max_sectors_kb=512, traced by the kernel's ftrace `blk` tracer (blktrace
# itself needs its relay files in debugfs, which this VM refuses: EPERM).
#   sudo scripts/kernel_trace/capture.sh OUT_DIR
# Writes OUT_DIR/NAME.ftrace.txt (the tracer's text) and
# OUT_DIR/NAME.blktrace.<cpu> (the same events as blktrace files, via
# ftrace_to_blktrace.py). Leaves no loop device, mount or tracer behind.
set -euo pipefail
out=$(realpath "${1:?usage: capture.sh OUT_DIR}")
here=$(dirname "$(realpath "$0")")
work=$(mktemp -d /tmp/cardfs-ktrace-XXXXXX)
T=/sys/kernel/tracing
mounted_tracefs=""
loop=""
cleanup() {
  [ -w "$T/tracing_on" ] && { echo 0 > "$T/tracing_on"; echo nop > "$T/current_tracer"; } || true
  [ -n "$loop" ] && { echo 0 > "/sys/block/${loop#/dev/}/trace/enable" || true; umount "$work/mnt" 2>/dev/null || true; losetup -d "$loop"; }
  [ -n "$mounted_tracefs" ] && umount "$T" || true
  rm -rf "$work"
}
trap cleanup EXIT
if [ ! -e "$T/trace" ]; then mount -t tracefs nodev "$T"; mounted_tracefs=1; fi
truncate -s 64M "$work/disk"
loop=$(losetup -f --show "$work/disk")
q=/sys/block/${loop#/dev/}/queue
echo mq-deadline > "$q/scheduler"
echo 512 > "$q/max_sectors_kb"
echo blk > "$T/current_tracer"
echo 1 > "/sys/block/${loop#/dev/}/trace/enable"

# capture NAME CMD...: traces CMD alone.
capture() {
  local name=$1; shift
  echo 0 > "$T/tracing_on"; echo > "$T/trace"; echo nobin > "$T/trace_options"
  echo 1 > "$T/tracing_on"
  "$@"
  sleep 0.5
  echo 0 > "$T/tracing_on"
  cat "$T/trace" > "$work/$name.txt"
  echo bin > "$T/trace_options"; cat "$T/trace" > "$work/$name.bin"; echo nobin > "$T/trace_options"
  cp "$work/$name.txt" "$out/$name.ftrace.txt"
  python3 "$here/ftrace_to_blktrace.py" "$work/$name.txt" "$work/$name.bin" "$out/$name"
}
dd if=/dev/zero of="$loop" bs=1M count=8 status=none && sync
capture seed001_buffered dd if=/dev/zero of="$loop" bs=128K count=2 status=none
capture seed001_fsync dd if=/dev/zero of="$loop" bs=128K count=2 conv=fsync status=none
capture seed001_direct dd if=/dev/zero of="$loop" bs=128K count=2 oflag=direct status=none
capture seed001_count10 dd if=/dev/zero of="$loop" bs=128K count=10 conv=fsync status=none
echo 2 > "$q/nomerges"
capture seed001_nomerges dd if=/dev/zero of="$loop" bs=128K count=2 conv=fsync status=none
echo 0 > "$q/nomerges"
# A journalled fsync: ext4's commit block is a preflush + FUA write.
mkfs.ext4 -q -F "$loop" && mkdir "$work/mnt" && mount "$loop" "$work/mnt"
capture ext4_fsync dd if=/dev/zero of="$work/mnt/f" bs=4K count=1 conv=fsync status=none
umount "$work/mnt"
