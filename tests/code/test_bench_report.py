"""`make bench`'s comparison with the linear baseline and its targets, on results of a known shape (no run)."""

from __future__ import annotations

from bench import tables


def run(accuracy: float, recipe: str, baseline: float) -> dict:
    return {
        "wall_seconds": 100.0,
        "peak_rss_mib": 1000.0,
        "components": {"Trainer": 50.0},
        "test_accuracy": accuracy,
        "recipe": recipe,
        "model_mib": 133.0,
        "baseline": {"accuracy": baseline},
    }


def test_each_recipe_is_compared_with_the_baseline_and_each_target_is_judged():
    imdb = {
        "dataset": "imdb",
        "cold": run(0.87, "tutorial", 0.9034),
        "default_recipe_cold": run(0.9069, "default", 0.9034),
    }
    own = {"dataset": "bbc", "default_recipe_cold": run(0.9790, "default", 0.9848)}  # a corpus of --corpora
    results = {"datasets": [imdb, own]}
    rows = {(r["corpus"], r["recipe"]): r["points"] for r in tables.linear_baseline.comparison_rows(results)}
    assert rows == {("imdb", "tutorial"): -3.34, ("imdb", "default"): 0.35, ("bbc", "default"): -0.58}
    lines = tables.target_rows(results)

    def verdict(corpus: str, label: str) -> str:
        (line,) = [x for x in lines if x.startswith(corpus + " ") and label in x]
        return "NOT MET" if line.endswith("NOT MET") else "met"

    assert verdict("imdb", "accuracy (bound: baseline + 0.3 pt)") == "met"  # 0.9069 >= 0.9034 + 0.003
    assert verdict("bbc", "accuracy (bound: baseline - 0.5 pt)") == "NOT MET"  # 0.9790 < 0.9848 - 0.005
    assert verdict("imdb", "model MiB") == "NOT MET"  # 133 > 127
    assert verdict("imdb", "Trainer s") == "met"  # 50 <= 57.4


def scaled(factor: float, per_1000: float) -> dict:
    return {"factor": factor, "documents": int(50_000 * factor), "total_seconds_per_1000_docs": per_1000}


def test_the_scaling_target_compares_the_largest_corpus_with_1x():
    def verdict(rows: list[dict]) -> list[str]:
        return [x for x in tables.target_rows({"datasets": [], "scaling": rows}) if x.startswith("imdb scaled")]

    (line,) = verdict([scaled(0.25, 9.0), scaled(1, 3.0), scaled(4, 3.75)])
    assert "4x / 1x" in line and " 1.25 " in line and line.endswith(" met")  # 3.75 / 3.0: the bound itself
    (line,) = verdict([scaled(1, 3.0), scaled(4, 3.8)])
    assert line.endswith("NOT MET")
    assert verdict([scaled(0.25, 9.0), scaled(4, 3.0)]) == []  # no 1x run: nothing to compare with
    assert verdict([scaled(1, 3.0)]) == []
