"""Benchmark: 1,000 BMD trend plots (PNG files) using every core. Target: 20 or more per second.

    python bench/plots_bench.py [--plots 1000] [--workers 2] [--format png|svg] [--out DIR] [--fresh]

The patients are the demo cohort (monitor.demo.cohort.generate_range). Each worker process imports
everything, generates its share of the patients and draws three warm-up plots before the clock
starts; then all workers start together (a barrier) and each, for every patient, gathers the plot's
data (reports.trend_plot.trend_data: series, courses, fractures, LSC changes), draws it on its reused
Figure (reports.trend_plot.TrendPlotter; `--fresh` builds a new Figure per plot as `bonemon report trend`
does) and writes the file. The rate is plots / wall time of that phase. The machine's load average
is printed beside it, because the cores may be shared.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_PER_SECOND = 20.0
AS_OF = date(2025, 6, 1)
WARM_UP = 3


def worker(start: int, stop: int, fmt: str, out: str, fresh: bool, barrier, results) -> None:
    from monitor.demo.cohort import generate_range
    from monitor.settings import default_policy
    from reports.figures import save
    from reports.trend_plot import TrendPlotter, trend_data, trend_figure

    policy = default_policy()
    cohort = list(generate_range(start, stop, seed=42, as_of=AS_OF))
    plotter = TrendPlotter()
    folder = Path(out)

    def draw(facts) -> None:
        data = trend_data(facts, as_of=AS_OF, policy=policy, caption=f"MRN {facts.patient.mrn}")
        fig = trend_figure(data) if fresh else plotter.draw(data)
        save(fig, folder / f"trend-{facts.patient.mrn}.{fmt}")

    for facts in cohort[:WARM_UP]:
        draw(facts)
    barrier.wait()
    began, cpu = time.perf_counter(), time.process_time()
    for facts in cohort:
        draw(facts)
    results.put((len(cohort), time.perf_counter() - began, time.process_time() - cpu))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plots", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--format", choices=("png", "svg"), default="png")
    parser.add_argument("--out", help="folder for the plots (default: a temporary folder, removed afterwards)")
    parser.add_argument("--fresh", action="store_true", help="a new Figure per plot instead of the reused one")
    args = parser.parse_args()

    context = multiprocessing.get_context("fork" if sys.platform != "win32" else "spawn")
    barrier = context.Barrier(args.workers + 1)
    results = context.Queue()
    with tempfile.TemporaryDirectory(prefix="bonemon-plots-") as tmp:
        out = args.out or tmp
        Path(out).mkdir(parents=True, exist_ok=True)
        bounds = [round(i * args.plots / args.workers) for i in range(args.workers + 1)]
        procs = [context.Process(target=worker, args=(bounds[i], bounds[i + 1], args.format, out, args.fresh, barrier,
                                                      results)) for i in range(args.workers)]
        for p in procs:
            p.start()
        load_before = os.getloadavg()[0]
        barrier.wait()
        began = time.perf_counter()
        done = [results.get() for _ in procs]
        wall = time.perf_counter() - began
        for p in procs:
            p.join()
        files = len(list(Path(out).glob(f"trend-*.{args.format}")))
    load_after = os.getloadavg()[0]

    plotted = sum(n for n, _, _ in done)
    rate = plotted / wall
    cpu_ms = 1000 * sum(c for _, _, c in done) / plotted
    print(f"{plotted} trend plots ({args.format}, {'fresh Figure each' if args.fresh else 'reused Figure'}) "
          f"with {args.workers} worker process(es) on {os.cpu_count()} core(s): {wall:.2f} s wall")
    for i, (n, seconds, cpu) in enumerate(done):
        print(f"  worker {i}: {n} plots in {seconds:.2f} s ({n / seconds:.1f}/s), {1000 * cpu / n:.0f} ms CPU per plot")
    print(f"rate: {rate:.1f} plots/s ({cpu_ms:.0f} ms CPU per plot); load average {load_before:.2f} before, "
          f"{load_after:.2f} after; {files} files written")
    met = rate >= TARGET_PER_SECOND
    print(f"target ≥ {TARGET_PER_SECOND:.0f} plots/s: {'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
