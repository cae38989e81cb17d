"""What the HTML report and `inspect` state, on made-up figures: slices under the bound are marked, a class a
slice holds none of has no precision, the kept epoch is the one early stopping restored, a corpus compared with
itself draws no drift chart, and a re-run's model from the cache is said to be one."""

from __future__ import annotations

from tools import explanations
from tools.report import data_checks as report_data_checks
from tools.report import facts as review_facts
from tools.report import sections as report_sections


def _slice(feature: str, value: str, accuracy: float, count: int) -> dict:
    return {
        "feature": feature,
        "value": value,
        "slice": f"{feature}={value}",
        "example_count": count,
        "metrics": {"binary_accuracy": {"value": accuracy}},
    }


def test_slices_under_the_bound_are_marked_and_a_class_the_slice_lacks_is_not_applicable():
    table = {"slices": [_slice("rating", "4", 0.798, 50), _slice("rating", "9", 0.93, 60)]}
    own = {"rating=4": {"classes": {"neg": {"precision": 0.8, "recall": 0.9}, "pos": {"precision": None}}}}
    html = report_sections.slices_table_html(table, ["neg", "pos"], own, min_accuracy=0.85)
    rows = html.split("<tr>")
    [low] = [row for row in rows if "rating=4" in row]
    [high] = [row for row in rows if "rating=9" in row]
    assert "under 0.85</b>" in low and "under" not in high
    assert "<td>n/a</td>" in low


def test_a_slice_without_a_class_has_no_precision_or_recall_for_it():
    # Slice label=neg: every pos prediction there is wrong by construction.
    figures = explanations.per_slice_precision_recall(
        predictions=[0, 1, 0, 1],
        labels=[0, 0, 1, 1],
        slices=[{"label": "neg"}] * 2 + [{"label": "pos"}] * 2,
        classes=["neg", "pos"],
    )
    neg_slice = figures["label=neg"]["classes"]
    assert neg_slice["pos"] == {"precision": None, "recall": None, "support": 0}
    assert neg_slice["neg"] == {"precision": 1.0, "recall": 0.5, "support": 2}


def test_the_kept_epoch_is_the_lowest_eval_loss_with_early_stopping_and_the_last_without():
    history = {"validation": {"epoch_loss": [0.34, 0.26, 0.236, 0.230, 0.2307, 0.235]}}
    assert review_facts.kept_epoch(history, {"early_stopping_patience": 2}) == 4
    assert review_facts.kept_epoch(history, {"early_stopping_patience": 0}) == 6
    assert review_facts.kept_epoch({}, {"early_stopping_patience": 2}) is None


def _drift(differences: list[tuple[str, float, float]]) -> dict:
    return {
        "served_version": "/serving/1796182263",
        "limits": {},
        "measures": {
            "label_linf": 0.0,
            "word_count_js": 0.0,
            "token_js": 0.0,
            "oov_rate": 0.04,
            "reference_oov_rate": 0.04,
            "largest_token_differences": [{"token": t, "reference": r, "current": c} for t, r, c in differences],
        },
    }


def test_a_corpus_compared_with_itself_says_so_and_draws_no_chart():
    same = report_data_checks.drift_section(_drift([("(out of vocabulary)", 0.04, 0.04), ("0", 0.001, 0.001)]))
    assert "this training split is the served model's own" in same and "<img" not in same
    moved = report_data_checks.drift_section(_drift([("great", 0.01, 0.02)]))
    assert "<img" in moved and "the tokens whose shares moved most" in moved


def test_slices_sort_numbers_by_value_after_the_overall_slice():
    from tools.evaluations import slice_order

    names = ["rating=10", "label=pos", "rating=2", "overall", "rating=1", "label=neg"]
    assert sorted(names, key=slice_order) == ["overall", "label=neg", "label=pos", "rating=1", "rating=2", "rating=10"]


def test_runs_marks_a_rerun_whose_model_came_from_the_cache():
    from tools.inspect import format_runs

    def row(run_id, trainer_state):
        return {
            "run_id": run_id,
            "kind": "training",
            "dataset": "/corpus",
            "test_accuracy": 0.9,
            "blessed": True,
            "pushed_version": None,
            "states": {"DirectoryExampleGen": "cached", "Trainer": trainer_state},
        }

    trained, rerun = format_runs([row("first", "ran"), row("again", "cached")]).splitlines()[1:]
    assert "(model from the cache)" not in trained and rerun.endswith("(model from the cache)")


def test_a_page_shows_the_home_folder_as_a_tilde():
    from pathlib import Path

    from tools.evaluations import shown_path

    home = str(Path.home())
    assert shown_path(f"{home}/.cache/text-classifier/datasets/imdb") == "~/.cache/text-classifier/datasets/imdb"
    assert shown_path("/tmp/runs/imdb") == "/tmp/runs/imdb" and shown_path("s3://bucket/x") == "s3://bucket/x"
    assert shown_path(home + "x/y") == home + "x/y"  # another folder that starts with the same letters


def test_the_verdict_is_read_from_the_records_not_from_prose():
    """pass / FAIL from (metric, kind, bound, value) as TFMA compares them: under the bound fails, equal passes."""
    from tools.report.page import verdict_lines

    bounds = [
        {"metric": "binary_accuracy", "slice": "overall", "kind": "lower_bound", "bound": 0.85},
        {"metric": "binary_accuracy", "slice": "overall", "kind": "change", "bound": -0.01},
    ]

    def outcomes(value, diff, served="1796278794"):
        table = {"slices": [{"slice": "overall", "metrics": {"binary_accuracy": {"value": value, "diff": diff}}}]}
        facts = {"bounds": bounds, "served_baseline": served, "baseline_figures": "recorded"}
        return [line["outcome"] for line in verdict_lines({**table, "failures": []}, facts)]

    assert outcomes(0.84, -0.02) == ["FAIL", "FAIL"]
    assert outcomes(0.85, -0.01) == ["pass", "pass"]
    assert outcomes(0.90, 0.03) == ["pass", "pass"]
    assert outcomes(0.90, None, served=None) == ["pass", "not applied"]
