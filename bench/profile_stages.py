"""Where each pipeline stage's time goes: a py-spy profile of one run, summed by component.

    py-spy record -r 20 -f raw -o build/profile.raw -- .venv/bin/python run_local.py --dataset imdb
    python -m bench.profile_stages build/profile.raw [--top 8]

py-spy samples every Python thread (Beam's workers and TensorFlow's calls
included, a C++ call charged to the Python line that made it), so unlike
cProfile it sees the work the components hand to threads. A sample belongs to
the component whose executor is on its stack (or to start-up and the driver
when none is). For each component: its samples, then the functions with the
most samples inside it (a sample counts once per function however deep; the
wrappers that 80% of the stage's samples or more pass through left out), and
the leaf frames (where the samples were taken) with the most samples.
"""

from __future__ import annotations

import argparse
import collections
import re
import sys
from pathlib import Path

# A frame of py-spy's raw format: "function (path/to/file.py:line)".
_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")
# The executor module each stage runs in (TFX's, or this project's components).
STAGES = [
    ("DirectoryExampleGen", "components/example_gen/directory_example_gen.py"),
    ("StatisticsGen", "tfx/components/statistics_gen/executor.py"),
    ("Transform", "tfx/components/transform/executor.py"),
    ("Trainer", "tfx/components/trainer/executor.py"),
    ("Evaluator", "components/evaluator/component.py"),
    ("Pusher", "components/atomic_pusher.py"),
]


def frame_name(frame: str) -> str:
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    path = m["file"]
    for marker in ("site-packages/", "/work/", "main/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{m['func']} ({path})"


def stage_of(frames: list[str]) -> str:
    for stage, module in STAGES:
        if any(module in f for f in frames):
            return stage
    return "start-up, driver, metadata"


def summarize(raw_lines, top: int) -> dict[str, dict]:
    samples: dict[str, int] = collections.Counter()
    functions: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    leaves: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for line in raw_lines:
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        stage = stage_of(frames)
        samples[stage] += int(count)
        for name in {frame_name(f) for f in frames[1:]}:  # the first is the thread
            functions[stage][name] += int(count)
        leaves[stage][frame_name(frames[-1])] += int(count)
    out = {}
    for stage, n in sorted(samples.items(), key=lambda kv: -kv[1]):
        ranked = [(f, c) for f, c in functions[stage].most_common() if c < 0.8 * n]
        out[stage] = {"samples": n, "top": ranked[:top], "leaves": leaves[stage].most_common(top)}
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.profile_stages", description=__doc__.splitlines()[0])
    p.add_argument("raw", type=Path, help="py-spy record -f raw output")
    p.add_argument("--top", type=int, default=8)
    args = p.parse_args(argv)
    if not args.raw.is_file():
        print(f"error: {args.raw}: no such file (record one with py-spy, see --help)", file=sys.stderr)
        return 2
    summary = summarize(args.raw.read_text().splitlines(), args.top)
    total = sum(s["samples"] for s in summary.values()) or 1
    for stage, s in summary.items():
        print(f"\n{stage}: {s['samples']} samples ({100 * s['samples'] / total:.0f}% of the run's)")
        for name, count in s["top"]:
            print(f"  {100 * count / s['samples']:5.1f}%  {name}")
        print("  where the samples were taken:")
        for name, count in s["leaves"]:
            print(f"  {100 * count / s['samples']:5.1f}%  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
