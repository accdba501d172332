#!/usr/bin/env python3
"""Queries over a trace printed in blkparse's default layout (by the real
blkparse or by `cardfs trace`), for the seed experiments.

  trace_tool.py select FILE [-a ACTION] [--rwbs REGEX] [--range START LEN]
      one line per matching event: "time action rwbs sector nsectors"
  trace_tool.py run FILE [--min N] [--not-from REGEX]
      "start length" of the longest run of contiguous queued data writes
      (Q W*, not flagged M for metadata) of at least N sectors: where a
      file's data went when the trace also holds metadata writes. Writes
      queued by a process matching REGEX are left out (--not-from '^jbd2/':
      the journal's log writes, which are not flagged M, as in the kernel).
      Exit 1 when there is none.
  trace_tool.py shape FILE START LEN
      the events of the data run at START (sectors relative to it) and of
      the flushes, one per line: "action rwbs offset+n [process]" (the
      process for Q, G, M and I only: who dispatches and completes
      differs between kernels and cardfs by design), to compare a trace
      with a kernel's event by event.
Lines that are not events (P/U/UT, the summary) are left out of both.
"""
import argparse
import re
import signal
import sys

EVENT = re.compile(
    r"^\s*\d+,\d+\s+\d+\s+\d+\s+(?P<time>\d+\.\d+)\s+\d+\s+(?P<act>[A-Z]+)\s+(?P<rwbs>[A-Z]+)"
    r"\s+(?P<sector>\d+)\s+\+\s+(?P<n>\d+)")


def events(path):
    """(time, action, rwbs, sector, n, process or "") per event line."""
    with open(path, errors="replace") as f:
        for line in f:
            m = EVENT.match(line)
            if m:
                who = WHO.search(line[m.end():])
                yield (float(m["time"]), m["act"], m["rwbs"], int(m["sector"]), int(m["n"]),
                       who["who"] if who else "")


FLUSH = re.compile(
    r"^\s*\d+,\d+\s+\d+\s+\d+\s+\d+\.\d+\s+\d+\s+(?P<act>[A-Z]+)\s+(?P<rwbs>F?[A-Z]*)"
    r"\s+(?:(?P<sector>\d+) )?\[(?P<who>[^]]*)\]")
WHO = re.compile(r"\[(?P<who>[^]]*)\]")


def cmd_shape(args):
    start, length = int(args.start), int(args.len)
    with open(args.file, errors="replace") as f:
        for line in f:
            m = EVENT.match(line)
            if m:
                sector, n = int(m["sector"]), int(m["n"])
                if not (start <= sector < start + length):
                    continue
                who = WHO.search(line[m.end():])
                name = f" [{who['who']}]" if who and m["act"] in ("Q", "G", "M", "I") else ""
                print(f"{m['act']} {m['rwbs']} {sector - start}+{n}{name}")
                continue
            m = FLUSH.match(line)
            # a flush: Q/G FWS, D/C FN, and the empty completion C WS 0
            if m and (m["rwbs"].startswith("F") or (m["act"] == "C" and m["sector"] is not None)):
                name = f" [{m['who']}]" if m["act"] in ("Q", "G") else ""
                print(f"{m['act']} {m['rwbs']}{name}")
    return 0


def in_range(ev, rng):
    if not rng:
        return True
    start, length = rng
    return ev[3] < start + length and ev[3] + ev[4] > start


def cmd_select(args):
    rx = re.compile(args.rwbs) if args.rwbs else None
    rng = (int(args.range[0]), int(args.range[1])) if args.range else None
    for ev in events(args.file):
        if args.action and ev[1] != args.action:
            continue
        if rx and not rx.fullmatch(ev[2]):
            continue
        if in_range(ev, rng):
            print(f"{ev[0]:.9f} {ev[1]} {ev[2]} {ev[3]} {ev[4]}")
    return 0


def cmd_run(args):
    skip = re.compile(args.not_from) if args.not_from else None
    spans = sorted({(ev[3], ev[4]) for ev in events(args.file)
                    if ev[1] == "Q" and ev[2].startswith("W") and "M" not in ev[2]
                    and not (skip and skip.search(ev[5]))})
    best = (0, 0)
    start = end = None
    for s, n in spans:
        if start is not None and s <= end:
            end = max(end, s + n)
        else:
            if start is not None and end - start > best[1]:
                best = (start, end - start)
            start, end = s, s + n
    if start is not None and end - start > best[1]:
        best = (start, end - start)
    if best[1] < args.min:
        return 1
    print(f"{best[0]} {best[1]}")
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("select")
    s.add_argument("file")
    s.add_argument("-a", "--action")
    s.add_argument("--rwbs")
    s.add_argument("--range", nargs=2)
    r = sub.add_parser("run")
    r.add_argument("file")
    r.add_argument("--min", type=int, default=1)
    r.add_argument("--not-from", dest="not_from")
    h = sub.add_parser("shape")
    h.add_argument("file")
    h.add_argument("start")
    h.add_argument("len")
    args = p.parse_args()
    return {"select": cmd_select, "run": cmd_run, "shape": cmd_shape}[args.cmd](args)


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `| head -1` is a normal reader
    sys.exit(main())
