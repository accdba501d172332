#!/usr/bin/env python3
"""A data logger, as an embedded product runs one: appends fixed-size
records to ./log and fsyncs every N records (optionally pacing them).

  logger.py [--records 3600] [--bytes 4096] [--fsync-every 10] [--interval 0]

With --interval 0 (the default) records are written as fast as the card
takes them; `cardfs measure --represents 1h` then says how much real
operation they stand for (3 600 records at one a second: an hour).
"""
import argparse
import os
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=3600)
    ap.add_argument("--bytes", type=int, default=4096)
    ap.add_argument("--fsync-every", type=int, default=10)
    ap.add_argument("--interval", type=float, default=0.0, help="seconds between records")
    a = ap.parse_args()
    fd = os.open("log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        for i in range(1, a.records + 1):
            record = (b"%08d " % i) + os.urandom(max(a.bytes - 9, 0))[: max(a.bytes - 9, 0)]
            os.write(fd, record[: a.bytes])
            if a.fsync_every and i % a.fsync_every == 0:
                os.fsync(fd)
            if a.interval:
                time.sleep(a.interval)
        os.fsync(fd)
    finally:
        os.close(fd)


if __name__ == "__main__":
    main()
