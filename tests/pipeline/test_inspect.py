"""tools.inspect on the shared tiny run: slices vs. TFMA, report, runs, lineage, notebook."""

from __future__ import annotations

import base64
import io
import json
import os
import re
from pathlib import Path

import pytest

from pipeline.recorded import mlmd
from tests.helpers import CLASS_WORDS
from tools import evaluations
from tools import inspect as tc_inspect
from tools.report import page as report
from tools.report import why as report_why

ROOT = Path(__file__).resolve().parents[2]


def run_inspect(capsys, *args) -> tuple:
    code = tc_inspect.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def load_candidate(uri):
    import tensorflow_model_analysis as tfma

    try:
        return tfma.load_eval_result(uri)
    except Exception:  # noqa: BLE001 - with a baseline, TFMA wants the model's name
        return tfma.load_eval_result(uri, model_name="candidate")


def test_slices_json_equals_what_tfma_loads(tiny_run, capsys):
    code, out, _ = run_inspect(capsys, "slices", "--metadata", str(tiny_run.metadata), "--json")
    assert code == 0
    table = json.loads(out)
    ours = {s["slice"]: s["metrics"] for s in table["slices"]}
    result = load_candidate(table["evaluation_uri"])
    compared = 0
    for slice_key, metrics in result.slicing_metrics:
        name = ", ".join(f"{k}={v}" for k, v in slice_key) or "overall"
        for metric, value in metrics[""][""].items():
            field = "value"
            if metric.endswith("_diff"):  # TFMA's name for candidate - baseline
                metric, field = metric[: -len("_diff")], "diff"
            if "doubleValue" in value:
                expected = float(value["doubleValue"])  # TFMA's dicts hold NaN as the string "NaN"
                if expected != expected:  # NaN (e.g. no positive label in the slice): reported as null
                    assert ours[name][metric][field] is None, (name, metric)
                else:
                    assert ours[name][metric][field] == pytest.approx(expected, abs=1e-9), (name, metric, field)
                compared += 1
    assert {", ".join(f"{k}={v}" for k, v in key) or "overall" for key, _ in result.slicing_metrics} == set(ours)
    assert compared >= 30
    overall = ours["overall"]
    assert overall["binary_accuracy"]["threshold"] in ("pass", "fail")
    assert "threshold" not in ours["label=0"]["binary_accuracy"]  # thresholds gate the overall slice only


def test_slice_by_narrows_and_an_unknown_feature_is_explained(tiny_run, capsys):
    code, out, _ = run_inspect(capsys, "slices", "--metadata", str(tiny_run.metadata), "--slice-by", "label")
    assert code == 0
    assert "label=0 (neg)" in out and "label=1 (pos)" in out and "has_html=" not in out  # the report's names too
    counts = [line.split() for line in out.splitlines() if " example_count " in f" {line} "]
    assert counts and all(row[row.index("example_count") + 1].isdigit() for row in counts)  # 33, not 33.0000
    code, _, err = run_inspect(capsys, "slices", "--metadata", str(tiny_run.metadata), "--slice-by", "colour")
    assert code == 2 and "no slices by 'colour'" in err and "length_bucket" in err


def test_html_report_embeds_valid_pngs(tiny_run, tmp_path, capsys):
    from PIL import Image

    out = tmp_path / "report.html"
    code, _, _ = run_inspect(capsys, "report", "--metadata", str(tiny_run.metadata), "--html", str(out))
    assert code == 0
    page = out.read_text()
    images = re.findall(r"src='data:image/png;base64,([^']+)'", page)
    titles = re.findall(r"<figcaption>([^<]+)</figcaption>", page)
    assert {
        "Accuracy by label",
        "Accuracy by length_bucket",
        "Accuracy by has_html",
        "Confusion matrix",
        "Calibration",
        "ROC curve",
        "Precision-recall curve",
        "Training curves",
    } <= set(titles)
    assert len(images) == len(titles)
    for data in images:
        raw = base64.b64decode(data)
        assert raw.startswith(b"\x89PNG\r\n\x1a\n")
        with Image.open(io.BytesIO(raw)) as img:
            img.verify()
    assert "BLESSED" in page and "Ingestion" in page and "src='http" not in page  # self-contained


def test_report_explains_the_test_split_and_names_the_most_confident_mistakes(tiny_run, capsys):
    store = mlmd.sqlite_store(str(tiny_run.metadata))
    _, evaluator, _, _ = evaluations.find_evaluation(store, None, None)
    examples = mlmd.input_artifacts(store, evaluator.id)["examples"][0]
    why = report_why.why_figures(store, evaluator, examples, ["neg", "pos"])
    # The same predictions as TFMA's: the split's error rate is one minus the evaluated accuracy.
    assert 1 - why["errors"] / why["examples"] == pytest.approx(
        tiny_run.summary["evaluation"]["test_accuracy"], abs=1e-9
    )
    pos, neg = why["influential_tokens"]["pos"], why["influential_tokens"]["neg"]
    assert pos and neg and all(t["share"] > 0 for t in pos) and all(t["share"] < 0 for t in neg)
    assert {t["token"] for t in pos[:5]} & set(CLASS_WORDS["pos"])
    assert {t["token"] for t in neg[:5]} & set(CLASS_WORDS["neg"])
    assert len(why["mistakes"]) == min(why["errors"], 10)
    for m in why["mistakes"]:
        assert m["predicted"] != m["true"] and m["probability"] >= 0.5
        assert m["file"].startswith(f"test/{m['true']}/") and (tiny_run.root / m["file"]).is_file()
    steps = []
    page = report.html_report(store, progress=steps.append)
    assert steps[0] == "report: reading the evaluation" and steps[-1] == ""  # told each step, cleared at the end
    assert "report: explaining the model's answers on the test split" in steps
    assert "Most confident mistakes" in page and "pos: token" in page and "neg: token" in page
    assert f"seen at least {why['min_occurrences']} times" in page and why["min_occurrences"] == 6  # 65 examples


def test_report_names_the_classes_the_bounds_the_baseline_and_the_training(tiny_run):
    store = mlmd.sqlite_store(str(tiny_run.metadata))
    page = report.html_report(store)
    version = Path(tiny_run.summary["push"]["path"]).name
    assert f"<title>text-classifier-corpus: model {version}</title>" in page
    # The label slice by class name, in the table and the figure's source alike.
    assert "<td>label=neg</td>" in page and "<td>label=pos</td>" in page and "<td>label=0</td>" not in page
    # Each bound with its value; the first model had no baseline to compare with, and says so.
    accuracy = tiny_run.summary["evaluation"]["test_accuracy"]
    assert f"<b>pass</b>: test binary_accuracy {accuracy:.4f} must be at least 0.7" in page
    assert (
        "<b>not applied</b>: change in binary_accuracy against the served model, at least -0.01: no model "
        "was served when this one was evaluated"
    ) in page
    assert "at least 0.7: pass" in page  # the overall table's bound column
    # Binary: the metrics across thresholds; per class precision, recall and F1.
    assert "<h2>Across decision thresholds</h2>" in page and "<td>0.50</td>" in page
    assert "<th>F1</th>" in page and "<th>pos precision</th>" in page
    # How it was trained, and where it went.
    assert "Settings: settings of their own (no named recipe)." in page
    assert re.search(r"Trained \d+ of at most 30 epochs", page)
    # The run that trained the model, with the Trainer's code, and when the report was made.
    assert re.search(
        r"trained in run <code>[^<]+</code>(?: \(this run reused it from the cache\))?, Trainer code \w+", page
    )
    assert "report made " in page
    assert f"pushed as version {version} to <code>{tiny_run.summary['push']['path']}</code>" in page
    assert "<h3>Split sizes</h3>" in page


def test_report_precision_and_recall_per_slice_agree_with_tfma_accuracy(tiny_run):
    """The report's own pass over the test split reproduces TFMA's per-slice accuracy exactly."""
    from tools import explanations

    store = mlmd.sqlite_store(str(tiny_run.metadata))
    _, evaluator, _, _ = evaluations.find_evaluation(store, None, None)
    examples = mlmd.input_artifacts(store, evaluator.id)["examples"][0]
    why = report_why.why_figures(store, evaluator, examples, ["neg", "pos"])
    own = explanations.per_slice_precision_recall(why["predictions"], why["labels"], why["slices"], ["neg", "pos"])
    tfma_slices = tiny_run.summary["evaluation"]["slices"]
    assert set(own) == {name for name in tfma_slices if name != "overall"}
    for name, figures in own.items():
        assert figures["n"] == tfma_slices[name]["example_count"]
        assert figures["accuracy"] == pytest.approx(tfma_slices[name]["binary_accuracy"], abs=1e-9)


def test_excerpts_end_at_a_word():
    text = "word " * 100
    cut = report_why.excerpt(text, 22)
    assert cut == "word word word word …"
    assert report_why.excerpt("short text") == "short text"


def test_runs_name_inference_runs_as_such(tiny_run, tmp_path, capsys):
    from tools import infer

    folder = tmp_path / "to_label"
    (folder / "a.txt").parent.mkdir(parents=True)
    (folder / "a.txt").write_text("a wonderful film")
    assert (
        infer.main(
            [
                "--work-dir",
                str(tiny_run.base / "runs"),
                "--name",
                "corpus",
                "--data-dir",
                str(folder),
                "--output",
                str(tmp_path / "labels"),
            ]
        )
        == 0
    )
    capsys.readouterr()
    code, out, _ = run_inspect(capsys, "runs", "--metadata", str(tiny_run.metadata))
    assert code == 0
    [line] = [line for line in out.splitlines() if str(folder)[-44:] in line]  # the column keeps the end
    assert " inference " in line and line.rstrip().endswith("labelled 1 files")
    assert any(" training " in line and str(tiny_run.root)[-30:] in line for line in out.splitlines())


def test_runs_lists_the_history(tiny_run, capsys):
    code, out, _ = run_inspect(capsys, "runs", "--metadata", str(tiny_run.metadata), "--json")
    assert code == 0
    rows = json.loads(out)
    first = next(r for r in rows if r["run_id"] == tiny_run.summary["run_id"])
    assert first["test_accuracy"] == pytest.approx(tiny_run.summary["evaluation"]["test_accuracy"])
    assert first["blessed"] is True
    assert first["pushed_version"] == os.path.basename(tiny_run.summary["push"]["path"])
    assert first["dataset"] == str(tiny_run.root)


def test_runs_reads_ml_metadata_alone_without_tensorflow_or_tfma(tiny_run):
    """The accuracy comes from the Evaluator's record on its artifact: the command imports neither TensorFlow nor
    TFMA (3-5 s of imports before; bench/NOTES.md)."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "tools.inspect", "runs", "--metadata", str(tiny_run.metadata)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "tensorflow_model_analysis" not in imported and "tensorflow" not in imported
    assert f"{tiny_run.summary['evaluation']['test_accuracy']:.4f}" in done.stdout


def test_lineage_goes_from_the_pushed_model_to_the_corpus(tiny_run, capsys):
    model = tiny_run.summary["push"]["path"]
    code, out, _ = run_inspect(capsys, "lineage", "--model", model, "--json")  # metadata found beside serving/
    assert code == 0
    info = json.loads(out)
    assert info["corpus"]["path"] == str(tiny_run.root)
    # Every file of each source folder (the tiny run's test/ holds 60 documents, 4 skew texts and 1 without
    # tokens; train/ 120 and 2 without tokens).
    assert info["corpus"]["fingerprint"].startswith("folder:test,files:65,sha256:")
    assert "; folder:train,files:122,sha256:" in info["corpus"]["fingerprint"]
    assert info["corpus"]["class_names"] == ["neg", "pos"]
    from models import recipe

    vocab_size = recipe.TransformConfig().vocab_size
    assert info["transform"]["vocabulary_size_configured"] == vocab_size
    assert 0 < info["transform"]["vocabulary_entries"] <= vocab_size - 2
    assert info["trainer"]["settings"]["epochs"] == 30 and info["trainer"]["settings"]["learning_rate"] == 0.02
    assert info["trainer"]["code_version"] and info["transform"]["code_version"]
    assert info["blessing"]["blessed"] is True
    assert info["blessing"]["baseline_model"] is None  # the first model: nothing else was served
    assert info["blessing"]["test_metrics"]["binary_accuracy"] == pytest.approx(
        tiny_run.summary["evaluation"]["test_accuracy"]
    )
    code, out, _ = run_inspect(capsys, "lineage", "--model", model)
    assert "fingerprint: folder:test,files:65" in out and "vocabulary:" in out


def test_lineage_of_a_serving_folder_in_a_moved_work_folder(tiny_run, tmp_path, capsys):
    """ML Metadata keeps the pushing run's absolute paths: a copied work folder is found by the version's name,
    and a serving folder stands for its newest version."""
    import shutil

    moved = tmp_path / "elsewhere" / "corpus"
    shutil.copytree(tiny_run.serving, moved / "serving")
    shutil.copy(tiny_run.metadata, moved / "metadata.sqlite")
    version = Path(tiny_run.summary["push"]["path"]).name
    code, out, err = run_inspect(capsys, "lineage", "--model", str(moved / "serving"), "--json")
    assert code == 0, err
    info = json.loads(out)
    assert info["pushed_model"]["version"] == version and info["pushed_model"]["path"] == str(
        moved / "serving" / version
    )
    assert info["corpus"]["path"] == str(tiny_run.root)


def test_lineage_of_an_unknown_folder_is_refused(tiny_run, tmp_path, capsys):
    code, _, err = run_inspect(capsys, "lineage", "--model", str(tmp_path), "--metadata", str(tiny_run.metadata))
    assert code == 2 and "neither a SavedModel nor a serving folder" in err
    stranger = tmp_path / "serving" / "123"
    stranger.mkdir(parents=True)
    (stranger / "saved_model.pb").write_bytes(b"")
    code, _, err = run_inspect(capsys, "lineage", "--model", str(stranger), "--metadata", str(tiny_run.metadata))
    version = Path(tiny_run.summary["push"]["path"]).name
    assert code == 2 and f"--model {stranger}: not a model this metadata store pushed (its pushed versions: " in err
    assert version in err and len(err.strip().splitlines()) == 1


def test_notebook_executes_top_to_bottom(tiny_run):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(ROOT / "notebooks" / "inspect_slices.ipynb", as_version=4)
    # Relative to the project's root, not to notebooks/ where the kernel starts.
    os.environ["INSPECT_METADATA"] = os.path.relpath(tiny_run.metadata, ROOT)
    os.environ["PROJECT_ROOT"] = str(ROOT)
    try:
        NotebookClient(
            nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "notebooks")}}
        ).execute()
    finally:
        del os.environ["INSPECT_METADATA"], os.environ["PROJECT_ROOT"]
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert sum(1 for o in outputs if "image/png" in o.get("data", {})) >= 4


def _chromium():
    import shutil

    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(not _chromium(), reason="Chromium not installed: `make report-check` installs it (Debian)")
def test_report_renders_in_headless_chromium(tiny_run, tmp_path, capsys):
    import subprocess

    from PIL import Image, ImageStat

    report, shot = tmp_path / "report.html", tmp_path / "report.png"
    assert run_inspect(capsys, "report", "--metadata", str(tiny_run.metadata), "--html", str(report))[0] == 0
    subprocess.run(
        [
            _chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1200,1800",
            f"--screenshot={shot}",
            report.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    with Image.open(shot) as img:
        assert img.size == (1200, 1800)
        # Charts drawn: far from a blank page (a white page has no variance at all).
        assert max(ImageStat.Stat(img.convert("L")).stddev) > 20
