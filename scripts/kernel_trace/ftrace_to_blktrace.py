#!/usr/bin/env python3
"""Turns the kernel's ftrace `blk` tracer output into blktrace files.

  ftrace_to_blktrace.py TEXT BIN OUT_BASE

TEXT is /sys/kernel/tracing/trace read with the default options (it names
each event's task as COMM-PID), BIN the same buffer read again with
`echo bin > trace_options`: one record per event, a 16-byte header
(pid u32, cpu u32, timestamp u64) and the kernel's own struct blk_io_trace
(48 bytes, sequence 0) with its payload. Writes OUT_BASE.blktrace.<cpu>
as blktrace would have: the records of each CPU with sequence numbers
1, 2, ... and a BLK_TN_PROCESS note before each task's first event, so
blkparse and btt read them as a blktrace capture. The action words,
sectors, sizes, pids and payloads are the kernel's, untouched.
"""
import re
import struct
import sys

MAGIC = 0x65617400
TN_PROCESS = 0 | (1 << 10) << 16  # __BLK_TN_PROCESS | BLK_TC_ACT(BLK_TC_NOTIFY)


def comms(text_path):
    names = {}
    for line in open(text_path, encoding="utf-8", errors="replace"):
        m = re.match(r"\s*(.+)-(\d+)\s+\[\d+\]", line)
        if m and not line.startswith("#"):
            names.setdefault(int(m.group(2)), m.group(1)[:15])
    return names


def records(bin_path):
    data = open(bin_path, "rb").read()
    pos = 0
    while data.startswith(b"#", pos):  # the text header ("# tracer: blk")
        pos = data.index(b"\n", pos) + 1
    while pos + 64 <= len(data):
        pid, cpu, ts = struct.unpack_from("<IIQ", data, pos)
        rec = bytearray(data[pos + 16:pos + 64])
        magic, = struct.unpack_from("<I", rec, 0)
        if magic & 0xffffff00 != MAGIC:
            raise SystemExit(f"bad record at byte {pos}")
        pdu_len, = struct.unpack_from("<H", rec, 46)
        pdu = data[pos + 64:pos + 64 + pdu_len]
        yield cpu, rec, pdu
        pos += 64 + pdu_len


def main():
    text, binary, out = sys.argv[1:4]
    names = comms(text)
    files, seq, noted = {}, {}, set()
    for cpu, rec, pdu in records(binary):
        f = files.setdefault(cpu, bytearray())
        pid, = struct.unpack_from("<I", rec, 32)
        time, = struct.unpack_from("<Q", rec, 8)
        device, = struct.unpack_from("<I", rec, 36)
        if pid not in noted:
            noted.add(pid)
            name = names.get(pid, "").encode()[:15].ljust(16, b"\0")
            f += struct.pack("<IIQQIIIIIHH", MAGIC | 7, 0, time, 0, 0, TN_PROCESS, pid, device, cpu, 0, 16)
            f += name
        seq[cpu] = seq.get(cpu, 0) + 1
        struct.pack_into("<I", rec, 4, seq[cpu])
        f += rec + pdu
    for cpu in range(max(files, default=0) + 1):
        with open(f"{out}.blktrace.{cpu}", "wb") as fh:
            fh.write(files.get(cpu, b""))


if __name__ == "__main__":
    main()
