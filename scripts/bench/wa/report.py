#!/usr/bin/env python3
"""The write-amplification study's tables and plots from a results folder
written by scripts/bench/wa_study.sh.

  report.py RESULTS_DIR

Reads phases.tsv (every card counter at the start and end of each phase),
samples-*.tsv (counters every 0.5 s), wear-*.json (`cardfs card info
--json` after the run) and meta.json; writes results.md, results.json, the
gnuplot data files and plots.gp (run by wa_study.sh: `gnuplot plots.gp`).
"""
import collections
import json
import os
import sys

MIB = 1 << 20


def load_phases(path):
    """{target: {phase: {"start"/"end": (wall, {counter: value})}}}, in order."""
    out = collections.OrderedDict()
    with open(path) as f:
        for line in f:
            target, phase, edge, wall, name, value = line.rstrip("\n").split("\t")
            edges = out.setdefault(target, collections.OrderedDict()).setdefault(phase, {})
            edges.setdefault(edge, (float(wall), {}))[1][name] = float(value)
    return out


def phase_row(edges):
    """What the card did during one phase (None if it did not finish)."""
    if "start" not in edges or "end" not in edges:
        return None
    (w0, a), (w1, b) = edges["start"], edges["end"]
    d = {k: b.get(k, 0.0) - a.get(k, 0.0) for k in b}
    host = d["card.host_sectors_written"] * 512
    flash = d["card.flash_bytes_programmed"]
    return {
        "host_MiB": host / MIB,
        "flash_MiB": flash / MIB,
        "wa": flash / host if host else None,
        "merges": int(d["card.merges"]),
        "erases": int(d["card.erases"]),
        "device_s": d["card.device_time_ns"] / 1e9,
        "merge_s": d.get("card.time_merge_ns", 0.0) / 1e9,
        "wall_s": w1 - w0,
    }


def total_row(rows):
    t = {k: sum(r[k] for r in rows) for k in ("host_MiB", "flash_MiB", "merges", "erases",
                                               "device_s", "merge_s", "wall_s")}
    t["wa"] = t["flash_MiB"] / t["host_MiB"] if t["host_MiB"] else None
    return t


def wear(path):
    with open(path) as f:
        counts = json.load(f)["wear"]["erase_counts"]
    erased = [c for c in counts if c > 0]
    return counts, {
        "aus": len(counts),
        "total_erases": sum(counts),
        "max": max(counts) if counts else 0,
        "mean": sum(counts) / len(counts) if counts else 0.0,
        "aus_erased": len(erased),
    }


def key(target):
    return target.replace(":", "_")


def fmt(v, digits=3):
    if v is None:
        return "—"
    if isinstance(v, int):
        return str(v)
    return f"{v:.{digits}g}" if abs(v) < 1000 else f"{v:.0f}"


def markdown(meta, phases, rows, totals, wears):
    targets = list(phases)
    names = list(dict.fromkeys(p for t in targets for p in phases[t]))
    out = [f"Run {meta['date']}: `{meta['command']}` (commit {meta['commit']}); {meta['machine']}.",
           f"Card {meta['card_size']} per target, fast mode; sizes {json.dumps(meta['sizes'])}.", ""]
    out.append("Flash bytes programmed per host byte written (write amplification), by workload:")
    out.append("")
    out.append("| workload | " + " | ".join(targets) + " |")
    out.append("|---" * (len(targets) + 1) + "|")
    for p in names + ["all"]:
        cells = []
        for t in targets:
            r = totals[t] if p == "all" else rows[t].get(p)
            cells.append("not run" if r is None else fmt(r["wa"]))
        out.append(f"| {'**all**' if p == 'all' else p} | " + " | ".join(cells) + " |")
    out.append("")
    out.append("What the card did, by target and workload (host and flash MiB, AU merges and erases,"
               " device time and its merge share, wall time of the host):")
    out.append("")
    out.append("| target | workload | host MiB | flash MiB | WA | merges | erases | device s | merge s | wall s |")
    out.append("|---|---|---|---|---|---|---|---|---|---|")
    for t in targets:
        for p in names + ["all"]:
            r = totals[t] if p == "all" else rows[t].get(p)
            if r is None:
                continue
            out.append(f"| {t} | {p} | " + " | ".join(fmt(r[k]) for k in (
                "host_MiB", "flash_MiB", "wa", "merges", "erases", "device_s", "merge_s", "wall_s")) + " |")
    out.append("")
    out.append("Wear after the run (erase counts per physical AU, from `cardfs card info --json`; mkfs included):")
    out.append("")
    out.append("| target | AUs | AUs erased | total erases | mean | max |")
    out.append("|---|---|---|---|---|---|")
    for t in targets:
        w = wears.get(t)
        if w:
            out.append(f"| {t} | {w['aus']} | {w['aus_erased']} | {w['total_erases']} | {w['mean']:.2f} | {w['max']} |")
    return "\n".join(out) + "\n"


def write_plot_data(results, phases, rows, wear_counts):
    targets = list(phases)
    names = list(dict.fromkeys(p for t in targets for p in phases[t]))
    with open(os.path.join(results, "wa_by_phase.dat"), "w") as f:
        f.write("workload " + " ".join(targets) + "\n")
        for p in names:
            vals = [rows[t].get(p) for t in targets]
            f.write(p + " " + " ".join("NaN" if v is None or v["wa"] is None else f"{v['wa']:.4f}" for v in vals) + "\n")
    for t, counts in wear_counts.items():
        with open(os.path.join(results, f"wear-{key(t)}.dat"), "w") as f:
            f.writelines(f"{i} {c}\n" for i, c in enumerate(counts))
    for t in targets:
        src = os.path.join(results, f"samples-{key(t)}.tsv")
        if not os.path.exists(src):
            continue
        with open(src) as f, open(os.path.join(results, f"time-{key(t)}.dat"), "w") as g:
            lines = [l.rstrip("\n").split("\t") for l in f][1:]
            lines = [l for l in lines if len(l) == 7 and l[2]]
            if not lines:
                continue
            w0 = float(lines[0][0])
            for l in lines:
                g.write(f"{float(l[0]) - w0:.2f} {float(l[2]) / 1e9:.4f} {float(l[3]) * 512 / MIB:.2f}"
                        f" {float(l[4]) / MIB:.2f} {l[5]} {l[6]} {l[1]}\n")


def write_gnuplot(results, targets, wear_counts):
    wear_targets = list(wear_counts)
    gp = ['set terminal svg size 900,480 dynamic font "sans,12"', "set key top left", "set grid"]
    gp += ['set output "wa_device_time.svg"',
           'set title "Card device time over the run (same workloads, same card model)"',
           'set xlabel "wall time since the filesystem was made (s)"', 'set ylabel "device time (s)"']
    gp.append("plot " + ", ".join(
        f'"time-{key(t)}.dat" using 1:2 with lines lw 2 title "{t}"' for t in targets))
    gp += ['set output "wa_flash_vs_host.svg"',
           'set title "Flash bytes programmed against host bytes written"',
           'set xlabel "host MiB written (fill of the random-write file included)"',
           'set ylabel "flash MiB programmed (log scale)"', "set logscale y"]
    gp.append("plot " + ", ".join(
        f'"time-{key(t)}.dat" using 3:4 with lines lw 2 title "{t}"' for t in targets) +
        ', x with lines dt 2 lc "gray" title "WA = 1"')
    gp.append("unset logscale y")
    n = max(1, len(wear_targets))
    top = max([max(c) for c in wear_counts.values() if c] + [1])
    aus = max([len(c) for c in wear_counts.values()] + [1])
    gp += ['set output "wa_wear.svg"', 'set terminal svg size 900,%d dynamic font "sans,11"' % (200 * n + 40),
           'set multiplot layout %d,1 title "Erase count per physical AU after the run (mkfs included)"' % n,
           'set xlabel "physical AU"', 'set ylabel "erases"', "set style fill solid 0.7 noborder",
           "set boxwidth 1", f"set xrange [-0.5:{aus - 0.5}]", f"set yrange [0:{top + 1}]", "set key off"]
    for t in wear_targets:
        gp += [f'set title "{t}"', f'plot "wear-{key(t)}.dat" using 1:2 with boxes']
    gp += ["unset multiplot", 'set terminal svg size 900,480 dynamic font "sans,12"', "unset boxwidth",
           "set autoscale x", "set key on"]
    gp += ['set output "wa_by_phase.svg"', 'set title "Write amplification by workload"',
           'set xlabel ""', 'set ylabel "flash bytes / host bytes"', "set style data histograms",
           "set style histogram clustered gap 1", "set style fill solid 0.8 border -1",
           "set key outside right top autotitle columnhead", "set logscale y", "set yrange [0.5:*]",
           'set ylabel "flash bytes / host bytes (log scale)"']
    gp.append("plot " + ", ".join(
        ("'wa_by_phase.dat' using %d:xtic(1)" % (i + 2)) for i in range(len(targets))))
    with open(os.path.join(results, "plots.gp"), "w") as f:
        f.write("\n".join(gp) + "\n")


def main():
    results = sys.argv[1]
    with open(os.path.join(results, "meta.json")) as f:
        meta = json.load(f)
    phases = load_phases(os.path.join(results, "phases.tsv"))
    rows = {t: {p: phase_row(e) for p, e in ps.items()} for t, ps in phases.items()}
    rows = {t: {p: r for p, r in ps.items() if r} for t, ps in rows.items()}
    totals = {t: total_row(list(ps.values())) if ps else None for t, ps in rows.items()}
    wears, wear_counts = {}, {}
    for t in phases:
        path = os.path.join(results, f"wear-{key(t)}.json")
        if os.path.exists(path) and os.path.getsize(path):
            wear_counts[t], wears[t] = wear(path)
    with open(os.path.join(results, "results.md"), "w") as f:
        f.write(markdown(meta, phases, rows, totals, wears))
    with open(os.path.join(results, "results.json"), "w") as f:
        json.dump({"meta": meta, "phases": rows, "totals": totals, "wear": wears}, f, indent=2)
    write_plot_data(results, phases, rows, wear_counts)
    write_gnuplot(results, list(phases), wear_counts)


if __name__ == "__main__":
    main()
