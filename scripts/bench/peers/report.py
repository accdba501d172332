#!/usr/bin/env python3
"""Turns one scripts/bench/run.sh run into results.json and results.md.

Input files in the results folder (written by run.sh):
  raw.tsv       target <TAB> run <TAB> metric <TAB> value
  bounds.tsv    target <TAB> run <TAB> metric <TAB> >value or <value (a step
                that hit the time bound: the figure is only known to lie
                beyond it)
  failures.tsv  target <TAB> run <TAB> workload <TAB> reason
  skipped.tsv   target <TAB> reason
  meta.json     machine, command, mode, sizes
Each figure is the median of its runs with the spread (min..max); the
ratio columns say how many times better cardfs is than the peer (> 1:
cardfs better), whichever way the metric counts.
"""
import json
import statistics
import sys
from pathlib import Path

# metric -> (label, unit, higher is better)
METRICS = {
    "seq_write_MBps": ("sequential write 1 MiB blocks + end fsync", "MB/s", True),
    "seq_read_cold_MBps": ("sequential read, cold", "MB/s", True),
    "randread_warm_iops": ("4 KiB random read, warm", "IOPS", True),
    "randread_cold_iops": ("4 KiB random read, cold", "IOPS", True),
    "randwrite_fsync32_iops": ("4 KiB random write, fsync every 32", "IOPS", True),
    "randwrite_wide_iops": ("4 KiB random write over half the card, fsync every 32", "IOPS", True),
    "direct_write_MBps": ("O_DIRECT sequential write 128 KiB", "MB/s", True),
    "create_small_s": ("create N files in one dir", "s", False),
    "stat_small_s": ("stat N files", "s", False),
    "unlink_small_s": ("unlink N files", "s", False),
    "create_large_s": ("create L files in one dir", "s", False),
    "randstat_large_s": ("random stats among L files (dentries dropped)", "s", False),
    "cp_a_s": ("cp -a of the tree", "s", False),
    "du_s": ("du -s of the tree (dentries dropped)", "s", False),
    "rm_rf_s": ("rm -rf of the tree", "s", False),
    "sqlite_tps": ("sqlite3 single-row transactions (DELETE, FULL)", "tx/s", True),
}
TARGET_ORDER = ["ext4", "fuse2fs", "cardfs", "cardfs-base", "cardfs-nojournal", "cardfs-durable",
                "cardfs-durable-nojournal", "cardfs-dio", "cardfs-base-dio", "passthrough-dio", "passthrough", "passthrough-st", "passthrough-dp", "floor"]
PEERS = ["ext4", "fuse2fs", "passthrough", "passthrough-st", "passthrough-dp", "floor", "cardfs-base", "cardfs-nojournal",
         "cardfs-durable-nojournal"]


def read_tsv(path, width):
    rows = []
    if path.exists():
        for line in path.read_text().splitlines():
            parts = line.split("\t")
            if len(parts) == width:
                rows.append(parts)
    return rows


def summarise(values):
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "runs": values,
    }


def fmt(x):
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    if x >= 1:
        return f"{x:.2f}"
    return f"{x:.3g}"


def cell(s, planned):
    if not s:
        return "—"
    n = len(s["runs"])
    short = f", {n} of {planned} runs" if n < planned else ""
    if n == 1:
        return fmt(s["median"]) + (f" (1 of {planned} runs)" if planned > 1 else "")
    return f"{fmt(s['median'])} ({fmt(s['min'])}..{fmt(s['max'])}{short})"


def ratio(metric, cardfs, peer):
    if not cardfs or not peer or cardfs["median"] == 0 or peer["median"] == 0:
        return None
    higher = METRICS[metric][2]
    return cardfs["median"] / peer["median"] if higher else peer["median"] / cardfs["median"]


def bound_of(rows):
    """The loosest of a target's bounds for one metric: ("<" or ">", value)."""
    ops = {v[0] for v in rows}
    if len(ops) != 1:
        return None
    op = ops.pop()
    values = [float(v[1:]) for v in rows]
    return (op, min(values) if op == ">" else max(values))


def bounded_ratio(metric, cardfs, cardfs_bound, peer, peer_bound):
    """cardfs's ratio to a peer when one side only has a bound: (relation, x),
    where relation says how the true ratio stands to x (">" or "<")."""
    higher = METRICS[metric][2]
    if cardfs and peer_bound and cardfs["median"]:
        op, b = peer_bound
        # The peer's figure lies beyond b in the direction op; flip for the ratio's orientation.
        x = cardfs["median"] / b if higher else b / cardfs["median"]
        worse_peer = (op == "<") if higher else (op == ">")
        return (">" if worse_peer else "<", x)
    if peer and cardfs_bound and peer["median"]:
        op, b = cardfs_bound
        x = b / peer["median"] if higher else peer["median"] / b
        worse_cardfs = (op == "<") if higher else (op == ">")
        return ("<" if worse_cardfs else ">", x)
    return None


def add_image_metrics(metrics):
    """cardfs's image bytes per byte written (run.sh's image_ratios), one
    figure per workload that wrote: lower is better, no peer has one."""
    for m in metrics:
        for prefix, whose in (("image_per_host_", "the card's host (the filesystem)"),
                              ("image_per_app_", "the application")):
            if m.startswith(prefix) and m not in METRICS:
                METRICS[m] = (f"image bytes per byte {whose} wrote: {m[len(prefix):]}", "B/B", False)


def label(metric, meta):
    text = METRICS.get(metric, (metric, "", True))[0]
    sizes = meta.get("sizes", {})
    return text.replace(" N ", f" {sizes.get('meta_small', 'N')} ").replace(
        " L ", f" {sizes.get('meta_large', 'L')} ")


def main(folder):
    folder = Path(folder)
    meta = json.loads((folder / "meta.json").read_text())
    values = {}
    for target, _run, metric, value in read_tsv(folder / "raw.tsv", 4):
        values.setdefault(metric, {}).setdefault(target, []).append(float(value))
    results = {m: {t: summarise(v) for t, v in per.items()} for m, per in values.items()}
    add_image_metrics(sorted(results))
    targets = [t for t in TARGET_ORDER if any(t in per for per in results.values())]
    raw_bounds = {}
    for target, _run, metric, value in read_tsv(folder / "bounds.tsv", 4):
        raw_bounds.setdefault(metric, {}).setdefault(target, []).append(value)
    bounds = {m: {t: b for t, rows in per.items() if (b := bound_of(rows)) and t not in results.get(m, {})}
              for m, per in raw_bounds.items()}
    for per in bounds.values():
        targets += [t for t in per if t not in targets]
    targets = [t for t in TARGET_ORDER if t in targets]
    failures = read_tsv(folder / "failures.tsv", 4)
    skipped = read_tsv(folder / "skipped.tsv", 2)

    cardfs = "cardfs" if "cardfs" in targets else None
    doc = {"meta": meta, "results": results, "ratios": {}, "bounds": bounds, "bounded_ratios": {},
           "failures": failures, "skipped": skipped}
    for metric in METRICS:
        if not cardfs or (metric not in results and metric not in bounds):
            continue
        got, limits = results.get(metric, {}), bounds.get(metric, {})
        doc["ratios"][metric] = {p: ratio(metric, got.get(cardfs), got.get(p)) for p in PEERS}
        doc["bounded_ratios"][metric] = {
            p: r for p in PEERS
            if (r := bounded_ratio(metric, got.get(cardfs), limits.get(cardfs), got.get(p), limits.get(p)))}
    (folder / "results.json").write_text(json.dumps(doc, indent=2) + "\n")

    out = [f"# Benchmark run {meta['date']}", ""]
    out.append(f"- machine: {meta['machine']}")
    out.append(f"- command: `{meta['command']}` ({meta['mode']}, {meta['runs']} run(s) per figure)")
    out.append(f"- sizes: {', '.join(f'{k}={v}' for k, v in meta['sizes'].items())}")
    out.append("- cell: median (min..max) over the runs; ratio: cardfs's median against the"
               " peer's, > 1 means cardfs is better")
    out.append("")
    head = ["workload", "unit"] + targets
    if cardfs:
        head += [f"cardfs vs {p}" for p in PEERS if p in targets]
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "---|" * len(head))
    for metric in METRICS:
        if metric not in results and metric not in bounds:
            continue
        row = [label(metric, meta), METRICS[metric][1]]
        for t in targets:
            b = bounds.get(metric, {}).get(t)
            row.append(f"{b[0]} {fmt(b[1])} (timed out)" if b else cell(results.get(metric, {}).get(t),
                                                                           int(meta['runs'])))
        if cardfs:
            for p in PEERS:
                if p in targets:
                    r = doc["ratios"][metric].get(p)
                    br = doc["bounded_ratios"][metric].get(p)
                    row.append(f"{r:.2f}×" if r else f"{br[0]} {br[1]:.2f}×" if br else "—")
        out.append("| " + " | ".join(row) + " |")
    if skipped:
        out += ["", "Targets not measured:"] + [f"- {t}: {why}" for t, why in skipped]
    if failures:
        out += ["", "Failed measurements:"] + [f"- {t} run {r} {w}: {why}" for t, r, w, why in failures]
    (folder / "results.md").write_text("\n".join(out) + "\n")
    print("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1])
