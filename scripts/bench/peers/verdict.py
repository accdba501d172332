#!/usr/bin/env python3
"""Issue #9's targets against one run of scripts/bench/run.sh.

  verdict.py RESULTS_DIR      prints a markdown table (also verdict.md there)

Each target is a ratio of medians from the same run, oriented so that > 1
means cardfs is better: for seconds peer / cardfs, for rates cardfs / peer.
"""
import json
import os
import sys

# (metric, what, cardfs target, peer, least ratio)
TARGETS = [
    ("create_small_s", "create {meta_small} files", "cardfs", "ext4", 1 / 3),
    ("create_small_s", "create {meta_small} files", "cardfs", "fuse2fs", 10),
    ("stat_small_s", "stat {meta_small} files", "cardfs", "ext4", 1 / 3),
    ("stat_small_s", "stat {meta_small} files", "cardfs", "fuse2fs", 10),
    ("unlink_small_s", "unlink {meta_small} files", "cardfs", "ext4", 1 / 3),
    ("unlink_small_s", "unlink {meta_small} files", "cardfs", "fuse2fs", 10),
    ("create_large_s", "create {meta_large} files in one directory", "cardfs", "fuse2fs", 20),
    ("randstat_large_s", "{randstats} random lookups there", "cardfs", "fuse2fs", 20),
    ("seq_write_MBps", "sequential 1 MiB write + fsync", "cardfs", "fuse2fs", 2),
    ("seq_read_cold_MBps", "cold sequential read", "cardfs", "fuse2fs", 2),
    ("randread_warm_iops", "warm 4 KiB random reads (page cache speed: ≈ ext4)", "cardfs", "ext4", 0.9),
    ("randread_warm_iops", "warm 4 KiB random reads, -o direct_io (a FUSE round trip each)", "cardfs-dio",
     "passthrough-dio", 0.9),
    ("sqlite_tps", "sqlite3 transactions, -o durable", "cardfs-durable", "fuse2fs", 2),
    ("sqlite_tps", "sqlite3 transactions, without durable (reported)", "cardfs", "fuse2fs", None),
]


def ratio(results, metric, ours, peer):
    row = results.get(metric, {})
    if ours not in row or peer not in row:
        return None
    a, b = row[ours]["median"], row[peer]["median"]
    if not a or not b:
        return None
    return b / a if metric.endswith("_s") else a / b


def bounded_ratio(run, metric, ours, peer):
    """(relation, x) when one side timed out: the true ratio is > or < x."""
    if ours != "cardfs":
        return None
    r = run.get("bounded_ratios", {}).get(metric, {}).get(peer)
    return tuple(r) if r else None


def judge(r, bounded, least):
    if least is None:
        return ""
    if r is not None:
        return "met" if r >= least else "**missed**"
    if bounded is None:
        return ""
    op, x = bounded
    if op == ">" and x >= least:
        return "met (the peer timed out)"
    if op == "<" and x < least:
        return "**missed** (cardfs timed out)"
    return "not settled (a side timed out)"


def main():
    results_dir = sys.argv[1]
    with open(os.path.join(results_dir, "results.json")) as f:
        run = json.load(f)
    results, sizes = run["results"], run["meta"]["sizes"]
    lines = ["| target | cardfs vs | asked | measured | |", "|---|---|---|---|---|"]
    for metric, what, ours, peer, least in TARGETS:
        r = ratio(results, metric, ours, peer)
        bounded = None if r is not None else bounded_ratio(run, metric, ours, peer)
        asked = "—" if least is None else (f"≥ {least:g}×" if least >= 1 else
                                           f"≥ {least:.2f}× (≤ {1 / least:.2g}× slower)")
        got = (f"{r:.2f}×" if r is not None else f"{bounded[0]} {bounded[1]:.2f}×" if bounded
               else "not measured")
        verdict = judge(r, bounded, least)
        lines.append(f"| {what.format(**sizes)} | {peer} | {asked} | {got} | {verdict} |")
    text = "\n".join(lines) + "\n"
    with open(os.path.join(results_dir, "verdict.md"), "w") as f:
        f.write(text)
    print(text, end="")


if __name__ == "__main__":
    main()
