"""The linear baseline a user writes in five minutes, on the pipeline's own splits (issue 29).

    TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True) + LinearSVC(C=0.5), nothing tuned

fitted on the `train` split DirectoryExampleGen wrote (read back from its output, so both sides see the
same documents; the baseline does not use `eval`) and scored on its `test` split. scikit-learn is in the
lock through cleanlab. `make bench` prints it beside the pipeline's accuracy for every corpus and recipe.

    python -m bench.baseline EXAMPLES_URI      # the accuracy, for one run's examples
"""

from __future__ import annotations

import os
import sys
import time


def read_split(examples_uri: str, split: str) -> tuple[list[str], list[int]]:
    """(texts, labels) of one split of DirectoryExampleGen's output."""
    import tensorflow as tf

    from models.features import LABEL_KEY, TEXT_KEY
    from tools.audit import split_records

    texts, labels = [], []
    for record in split_records(examples_uri, split):
        feature = tf.train.Example.FromString(record).features.feature
        texts.append(feature[TEXT_KEY].bytes_list.value[0].decode("utf-8"))
        labels.append(feature[LABEL_KEY].int64_list.value[0])
    return texts, labels


def baseline_accuracy(examples_uri: str) -> dict:
    """{accuracy, seconds (fit + predict), train and test sizes} of the baseline on these examples."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    (train_x, train_y), (test_x, test_y) = read_split(examples_uri, "train"), read_split(examples_uri, "test")
    started = time.monotonic()
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    classifier = LinearSVC(C=0.5).fit(vectorizer.fit_transform(train_x), train_y)
    predicted = classifier.predict(vectorizer.transform(test_x))
    correct = sum(int(p == y) for p, y in zip(predicted, test_y, strict=True))
    return {
        "accuracy": round(correct / len(test_y), 4),
        "seconds": round(time.monotonic() - started, 1),
        "train": len(train_y),
        "test": len(test_y),
    }


def comparison_rows(results: dict) -> list[dict]:
    """Per corpus and recipe run: the pipeline's test accuracy, the baseline's, the difference (points)."""
    rows = []
    for d in results["datasets"]:
        for key, run in d.items():
            if not isinstance(run, dict) or "baseline" not in run or run.get("test_accuracy") is None:
                continue
            pipeline, baseline = run["test_accuracy"], run["baseline"]["accuracy"]
            rows.append(
                {
                    "corpus": d["dataset"],
                    "run": key,
                    "recipe": run.get("recipe", "default"),
                    "pipeline": pipeline,
                    "baseline": baseline,
                    "points": round(100 * (pipeline - baseline), 2),
                }
            )
    return rows


def format_comparison(rows: list[dict]) -> list[str]:
    lines = [f"{'corpus':<14} {'recipe':<10} {'pipeline':>9} {'baseline':>9} {'points':>7}"]
    lines += [
        f"{r['corpus']:<14} {r['recipe']:<10} {r['pipeline']:>9.4f} {r['baseline']:>9.4f} {r['points']:>+7.2f}"
        for r in rows
    ]
    return lines


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from pipeline import quiet

    quiet.setup(verbose=False)
    print(baseline_accuracy(sys.argv[1]))
