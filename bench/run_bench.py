"""Benchmark: the pipeline against the plain Keras tutorial, side by side on this machine.

    DATA_MIRROR=../shared/data python -m bench.run_bench [--datasets imdb stackoverflow]
        [--scaling 0.25 0.5 1 4] [--json build/bench.json]        (make bench)

For each dataset, in one invocation: the peer (bench/peer_keras.py), then the
pipeline with the tutorial's recipe cold (fresh pipeline root), warm (nothing
changed) and after a Trainer-only change, the serving speed of both exported
models, the pipeline's default recipe cold (the accuracy figure) and the
previous default (`--recipe padded`) cold, and the peer again. Ratios are
against the mean of the two peer runs: on a shared machine one peer run can be
off by half (a 68 s run against 40-45 s ones was seen), and two runs
bracketing the pipeline's see the same conditions. Each run is a fresh
process, timed by wall clock, its peak RSS read from wait4(). With --scaling,
IMDB-shaped corpora of those multiples of IMDB's size are built (sampled, or
replicated with hard links) and run cold on the default recipe (issue 32's
scaling target). The targets (bench/tables.py: issues 29 and 32) are printed
last, each with its figure and met / NOT MET.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import baseline as linear_baseline  # noqa: E402
from bench.tables import RUNS, format_tables, linearity  # noqa: E402
from pipeline import quiet  # noqa: E402
from pipeline.corpora import datasets  # noqa: E402

PY = sys.executable


def timed(cmd: list[str], log: Path) -> dict:
    """Runs `cmd`; returns wall seconds, peak RSS (MiB) and exit code; output goes to `log`."""
    started = time.monotonic()
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    result = {
        "wall_seconds": round(time.monotonic() - started, 2),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "exit_code": proc.returncode,
        "log": str(log),
    }
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}); see {log}")
    return result


def pipeline_run(args: list[str], work: Path, label: str) -> dict:
    summary = work / f"{label}.summary.json"
    result = timed([PY, "run_local.py", *args, "--summary", str(summary)], work / f"{label}.log")
    s = json.loads(summary.read_text())
    result["components"] = {r["component"]: r["seconds"] for r in s["components"] if r["state"] == "ran"}
    result["test_accuracy"] = (s.get("evaluation") or {}).get("test_accuracy")
    result["pushed"] = (s.get("push") or {}).get("path")
    result["pipeline_wall_seconds"] = s["wall_seconds"]
    result["examples_uri"] = (s.get("ingestion") or {}).get("examples_uri")
    result["tokenization"] = s.get("tokenization")
    result["recipe"] = args[args.index("--recipe") + 1] if "--recipe" in args else "default"
    if result["pushed"]:
        size = sum(f.stat().st_size for f in Path(result["pushed"]).rglob("*") if f.is_file())
        result["model_mib"] = round(size / 2**20, 1)
    return result


def with_baseline(runs: list[dict]) -> None:
    """The linear baseline on the runs' own splits (the same for every recipe: one ExampleGen), in each run."""
    measured = linear_baseline.baseline_accuracy(runs[0]["examples_uri"])
    for run in runs:
        run["baseline"] = measured


def bench_corpus(name: str, folder: Path, work: Path) -> dict:
    """A corpus of one's own (--corpora): the default recipe cold, and the baseline on its splits."""
    run = pipeline_run(["--data-dir", str(folder), "--name", name, "--work-dir", str(work / "runs")], work, "default")
    with_baseline([run])
    return {"dataset": name, "corpus": str(folder), "default_recipe_cold": run}


def bench_dataset(name: str, work: Path, best: bool) -> dict:
    corpus = datasets.acquire(name, progress=False)
    out: dict = {"dataset": name, "corpus": str(corpus)}

    def run_peer(label: str) -> dict:
        peer_json = work / f"{label}.json"
        result = timed(
            [
                PY,
                "bench/peer_keras.py",
                "--data-dir",
                str(corpus),
                "--export-dir",
                str(work / "peer_export"),
                "--json",
                str(peer_json),
            ],
            work / f"{label}.log",
        )
        result.update(json.loads(peer_json.read_text()))
        return result

    out["peer_before"] = run_peer("peer")
    tutorial = ["--dataset", name, "--recipe", "tutorial", "--work-dir", str(work / "runs")]
    out["cold"] = pipeline_run(tutorial, work, "cold")
    out["warm"] = pipeline_run(tutorial, work, "warm")
    out["trainer_change"] = pipeline_run(tutorial + ["--learning-rate", "0.0011"], work, "trainer_change")
    serving = timed(
        [
            PY,
            "bench/serving.py",
            "--ours",
            out["cold"]["pushed"],
            "--peer",
            str(work / "peer_export"),
            "--texts-from",
            str(corpus / "test"),
        ],
        work / "serving.log",
    )
    out["serving"] = json.loads(Path(serving["log"]).read_text().strip().splitlines()[-1])
    if best:
        out["default_recipe_cold"] = pipeline_run(
            ["--dataset", name, "--work-dir", str(work / "runs-default")], work, "default_cold"
        )
        # The default before whole documents and the sparse-cost optimizer, in the same invocation.
        out["previous_default_cold"] = pipeline_run(
            ["--dataset", name, "--recipe", "padded", "--work-dir", str(work / "runs-padded")], work, "padded_cold"
        )
    out["peer_after"] = run_peer("peer_after")
    before, after = out["peer_before"], out["peer_after"]
    out["peer"] = {
        **before,
        "wall_seconds": round((before["wall_seconds"] + after["wall_seconds"]) / 2, 2),
        "peak_rss_mib": max(before["peak_rss_mib"], after["peak_rss_mib"]),
    }
    with_baseline([out[k] for k in ("default_recipe_cold", "cold", "previous_default_cold") if k in out])
    peer_wall = out["peer"]["wall_seconds"]
    out["ratios"] = {k: round(out[k]["wall_seconds"] / peer_wall, 2) for k in RUNS if k in out}
    return out


def build_scaled_corpus(source: Path, factor: float, dest: Path) -> int:
    """An IMDB-shaped corpus of `factor` x the source: a stable sample, or hard-linked copies."""
    count = 0
    for path in sorted(source.rglob("*.txt")):
        rel = path.relative_to(source)
        if factor < 1:
            keep = int(hashlib.sha256(str(rel).encode()).hexdigest()[:8], 16) % 1000 < factor * 1000
            copies = [""] if keep else []
        else:
            copies = [str(k) for k in range(int(factor))]
        for k in copies:
            doc_id, _, rest = path.name.partition("_")
            target = dest / rel.parent / (f"{doc_id}{k}_{rest}" if k else path.name)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(path, target)
            count += 1
    return count


def bench_scaling(factors: list[float], work: Path) -> list[dict]:
    source = datasets.acquire("imdb", progress=False)
    rows = []
    for factor in factors:
        corpus = work / f"imdb_x{factor}"
        documents = build_scaled_corpus(source, factor, corpus)
        run = pipeline_run(
            [
                "--data-dir",
                str(corpus),
                "--name",
                f"x{factor}",
                "--schema",
                "imdb",
                "--work-dir",
                str(work / "runs"),
            ],
            work,
            f"scale_{factor}",
        )
        shutil.rmtree(corpus)
        rows.append(
            {
                "factor": factor,
                "documents": documents,
                "wall_seconds": run["wall_seconds"],
                "peak_rss_mib": run["peak_rss_mib"],
                "seconds_per_1000_docs": {c: round(1000 * s / documents, 3) for c, s in run["components"].items()},
                "total_seconds_per_1000_docs": round(1000 * run["pipeline_wall_seconds"] / documents, 3),
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m bench.run_bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--datasets", nargs="*", default=["imdb", "stackoverflow"])
    p.add_argument("--scaling", nargs="*", type=float, default=[], help="multiples of IMDB, e.g. 0.25 0.5 1 4")
    p.add_argument("--no-default-recipe", action="store_true", help="skip the default recipe's cold run")
    p.add_argument(
        "--corpora", nargs="*", default=[], metavar="NAME=DIR", help="folders of one's own: default recipe vs baseline"
    )
    p.add_argument("--json", type=Path, default=ROOT / "build" / "bench.json")
    p.add_argument("--keep", action="store_true", help="keep the work folder")
    quiet.add_flag(p)
    args = p.parse_args(argv)
    quiet.setup(args.verbose)  # the baseline reads the splits with TensorFlow in this process

    work = Path(tempfile.mkdtemp(prefix="tc-bench-"))
    results: dict = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "datasets": [],
    }
    try:
        for name in args.datasets:
            d_work = work / name
            d_work.mkdir()
            results["datasets"].append(bench_dataset(name, d_work, best=not args.no_default_recipe))
            print(format_tables({"datasets": results["datasets"][-1:]}), flush=True)
        for spec in args.corpora:
            name, _, folder = spec.partition("=")
            c_work = work / name
            c_work.mkdir()
            results["datasets"].append(bench_corpus(name, Path(folder).resolve(), c_work))
            print(format_tables({"datasets": results["datasets"][-1:]}), flush=True)
        if args.scaling:
            s_work = work / "scaling"
            s_work.mkdir()
            results["scaling"] = bench_scaling(sorted(args.scaling), s_work)
            results["scaling_notes"] = linearity(results["scaling"])
    finally:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        # No paths of this machine in the results: home as ~, the temporary work folder as <work>.
        text = json.dumps(results, indent=2).replace(str(work), "<work>").replace(str(Path.home()), "~")
        args.json.write_text(text)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print("\n" + format_tables(results))
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
