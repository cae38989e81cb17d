"""The whole pipeline on a tiny generated corpus: train, evaluate, gate, push, serve without skew.

One cold run is shared by the module; later tests re-run on top of it, in file order.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_model_analysis as tfma

from components import atomic_pusher
from components.evaluator.component import BASELINE_FIGURES_PROPERTY, EVALUATED, RECORDED
from pipeline.recorded import tfma_results
from tests.helpers import (
    NOISE,
    SKEW_TEXTS,
    ZERO_TOKEN_TEXTS,
    evaluate_again_with_both_models,
    evaluator_run,
    make_corpus,
    outputs_of,
    read_examples,
    read_records,
    run_cli,
    run_local_to_the_end,
    states,
    write_doc,
)
from tools import inspect, predict
from tools.explanations import PADDING


@pytest.fixture(scope="module")
def cold(tiny_run):
    return tiny_run


def test_cold_run_trains_evaluates_blesses_and_pushes(cold):
    s = cold.summary
    assert set(states(s)) >= {
        "DirectoryExampleGen",
        "ImportSchemaGen",
        "StatisticsGen",
        "StrictExampleValidator",
        "Transform",
        "Trainer",
        "Evaluator",
        "AtomicPusher",
    }
    assert all(state == "ran" for state in states(s).values())
    # The duplicate counts reach the summary as the report has them (the tiny corpus's short random texts
    # repeat by chance, so some are found).
    found = s["ingestion"]["duplicates"]
    reported = json.loads(Path(s["ingestion"]["report"]).read_text())["duplicates"]
    assert set(found["within"]) == {"train", "eval", "test"}
    counts = {k: v for k, v in reported.items() if not isinstance(v, list) and k != "method"}
    assert found == {**counts, "template_groups": len(reported["template_groups"])}
    assert (
        len(reported["test_seen_in_train"]) == found["test_with_train_twin_exact"] + found["test_with_train_twin_near"]
    )
    # What `auto` found (models/preprocessing.chosen_tokenization): an English corpus, tokenized as words.
    assert s["tokenization"] == {"tokenizer": "auto", "unspaced_share": 0.0, "character_documents": 0.0}
    evaluation = s["evaluation"]
    assert evaluation["test_accuracy"] >= 0.8
    assert evaluation["overall"]["example_count"] == 65
    for metric in ("auc", "precision", "recall", "calibration"):
        assert metric in evaluation["overall"]
    assert {"overall", "label=0", "label=1", "has_html=1", "has_html=0"} <= set(evaluation["slices"])
    assert any(k.startswith("length_bucket=") for k in evaluation["slices"])
    assert any(k.startswith("rating=") for k in evaluation["slices"])
    assert evaluation["blessed"] is True
    assert s["push"]["pushed"] is True
    pushed = Path(s["push"]["path"])
    assert pushed.parent == cold.serving and (pushed / "saved_model.pb").is_file()
    assert json.loads((pushed / "assets.extra" / "class_names.json").read_text()) == ["neg", "pos"]


def _pushed_model(cold):
    return tf.saved_model.load(cold.summary["push"]["path"])


def _rows(token_ids) -> list[list[int]]:
    """Each text's ids; whole-document ids come padded to the request's longest text, padding (0) dropped."""
    from models import recipe

    rows = token_ids.numpy().tolist()
    return [[i for i in row if i != 0] for row in rows] if recipe.TransformConfig().max_len == 0 else rows


def test_serving_tokenizes_exactly_as_transform_materialized(cold):
    """No train/serving skew: ids (and weights) from the exported graph == what Transform wrote, document for
    document."""
    from models import recipe
    from models.preprocessing import tokenize

    examples_uri = Path(cold.summary["ingestion"]["examples_uri"])
    raw = read_examples(str(examples_uri / "Split-test" / "*"))
    texts = [ex.features.feature["text"].bytes_list.value[0] for ex in raw]
    assert {t.decode() for t in texts} >= set(SKEW_TEXTS)

    signature = _pushed_model(cold).signatures["tokenize"]
    served_out = signature(text=tf.constant(texts))
    served = _rows(served_out["token_ids"])
    transformed_dir = only_dir(cold.pipeline_root / "Transform" / "transformed_examples")
    t = recipe.TransformConfig()
    assert t.weighting == "tfidf" and t.max_len == 0  # the default this test reads
    materialized_examples = read_examples(str(transformed_dir / "Split-test" / "*"))
    # A whole-document (ragged) row is written as its values.
    materialized = [ex.features.feature["token_ids$ragged_values"].int64_list.value for ex in materialized_examples]
    assert sorted(map(tuple, served)) == sorted(tuple(ids) for ids in materialized)
    weights = {
        tuple(ex.features.feature["token_ids$ragged_values"].int64_list.value): np.array(
            ex.features.feature["token_weights$ragged_values"].float_list.value
        )
        for ex in materialized_examples
    }
    for row, row_weights in zip(served, served_out["token_weights"].numpy(), strict=True):
        np.testing.assert_allclose(row_weights[: len(row)], weights[tuple(row)], atol=1e-6)
    # Nothing cut: the longest test document keeps each of its distinct words and bigrams.
    terms = [tokenize(tf.constant([text]), ngrams=2, tokenizer="words").to_list()[0] for text in texts]
    assert max(map(len, materialized)) == max(len(set(row)) for row in terms)

    # The skew texts themselves: unknown words get the OOV id 1; case, markup and the punctuation that only
    # separates words make no difference to the ids.
    ids = dict(zip([x.decode() for x in texts], served, strict=True))
    unknown = ids["zyxxyq unknownword qwertyuiop"]
    assert unknown[:3] == [1, 1, 1]  # out of vocabulary
    # then its two bigrams, hashed past the vocabulary
    assert all(t.vocab_size <= i < t.vocab_size + t.ngram_buckets for i in unknown[3:5]) and unknown[5:] == []
    plain = _rows(
        signature(
            text=tf.constant(
                [
                    "hello world! it s a great film",
                    "terrible!!! awful boring plot a waste",
                    "mixed case wonderful excellent superb?",
                ]
            )
        )["token_ids"]
    )
    assert [ids[SKEW_TEXTS[0]], ids[SKEW_TEXTS[2]], ids[SKEW_TEXTS[3]]] == plain


def test_raw_text_and_example_signatures_agree(cold):
    model = _pushed_model(cold)
    examples_uri = Path(cold.summary["ingestion"]["examples_uri"])
    records = read_records(str(examples_uri / "Split-test" / "*"))
    texts = [tf.train.Example.FromString(r).features.feature["text"].bytes_list.value[0] for r in records]
    from_examples = model.signatures["serving_default"](examples=tf.constant(records))
    from_text = model.signatures["predict_text"](text=tf.constant(texts))
    np.testing.assert_allclose(from_text["probabilities"].numpy(), from_examples["probabilities"].numpy(), atol=1e-6)
    assert from_text["class_name"].numpy().tolist() == from_examples["class_name"].numpy().tolist()
    np.testing.assert_allclose(from_examples["score"].numpy()[:, 0], from_examples["probabilities"].numpy()[:, 1])


def test_documents_without_tokens_train_evaluate_and_are_served_without_nan(cold, capsys):
    """The zero-token rule (models/model.py): such a document is trained on and evaluated like any other, and
    every signature answers it with the output layer's bias alone, finite, marked by token_count 0."""
    examples_uri = Path(cold.summary["ingestion"]["examples_uri"])
    texts = {
        s: {
            ex.features.feature["text"].bytes_list.value[0].decode()
            for ex in read_examples(str(examples_uri / f"Split-{s}" / "*"))
        }
        for s in ("train", "eval", "test")
    }
    assert set(ZERO_TOKEN_TEXTS[:2]) <= texts["train"] | texts["eval"] and ZERO_TOKEN_TEXTS[2] in texts["test"]
    model = _pushed_model(cold)
    assert all(np.all(np.isfinite(v.numpy())) for v in model.signatures["serving_default"].variables)
    overall = cold.summary["evaluation"]["overall"]
    assert all(v is None or np.isfinite(v) for v in overall.values()) and overall["auc"] is not None

    asked = ["", "   ", *ZERO_TOKEN_TEXTS, "<br /><br />"]
    bias = model.signatures["explain_text"](text=tf.constant(asked))["bias"].numpy()
    expected = 1 / (1 + np.exp(-bias[:, 0]))  # the positive class's probability from the bias alone
    from_text = model.signatures["predict_text"](text=tf.constant(asked))
    examples = [
        tf.train.Example(
            features=tf.train.Features(
                feature={"text": tf.train.Feature(bytes_list=tf.train.BytesList(value=[t.encode()]))}
            )
        ).SerializeToString()
        for t in asked
    ]
    for out in (
        from_text,
        model.signatures["serving_default"](examples=tf.constant(examples)),
        model.signatures["score_examples"](examples=tf.constant(examples)),
    ):
        probabilities = out["probabilities"].numpy()
        assert np.all(np.isfinite(probabilities))
        np.testing.assert_allclose(probabilities[:, 1], expected, atol=1e-6)
        assert out["token_count"].numpy().tolist() == [0] * len(asked)
    explained = model.signatures["explain_text"](text=tf.constant(asked))
    assert np.all(explained["contributions"].numpy() == 0)
    np.testing.assert_allclose(explained["logits"].numpy(), bias, atol=1e-6)

    assert predict.main(["--model", str(cold.serving), "--json", "", "... :-) --"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["token_count"] for r in rows] == [0, 0]
    assert [r["class"] for r in rows] == [None, None]  # the bias's answer is no class
    assert all(np.isfinite(p) for r in rows for p in r["probabilities"].values())
    assert predict.main(["--model", str(cold.serving), "... :-) --"]) == 0
    assert capsys.readouterr().out.rstrip().endswith("(no tokens: the model's answer without evidence)")


def test_predict_says_when_most_words_are_unknown_and_numbers_the_lines_of_a_file(cold, capsys, tmp_path):
    texts = tmp_path / "texts.txt"
    texts.write_text("wonderful great loved\n\nzyzzyva quux frobnicate wonderful\n", encoding="utf-8")
    assert predict.main(["--model", str(cold.serving), "--json", "--file", str(texts)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["line"], r["word_count"], r["oov_count"]) for r in rows] == [(1, 3, 0), (3, 4, 3)]
    assert predict.main(["--model", str(cold.serving), "--file", str(texts)]) == 0
    first, second = capsys.readouterr().out.strip().splitlines()
    assert first.startswith("line 1\t") and "unknown" not in first
    assert second.startswith("line 3\t") and second.endswith("(most words unknown to the model: 3 of 4)")


def test_predict_command_classifies_texts(cold, capsys, monkeypatch):
    steps = []
    # On a terminal the slow steps show on one line (quiet.terminal_progress), cleared before the answers.
    monkeypatch.setattr(predict.quiet, "terminal_progress", lambda: steps.append)
    code = predict.main(
        [
            "--model",
            str(cold.serving),
            "wonderful great loved excellent brilliant superb",
            "awful boring terrible waste dull worst",
        ]
    )
    assert code == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split("\t")[0] for line in lines] == ["pos", "neg"]
    version = predict.resolve_model_dir(cold.serving)
    assert steps[:3] == [
        "predict: loading TensorFlow",
        f"predict: loading the model {version}",
        "predict: classifying 2 texts",
    ]
    assert steps[3:] and set(steps[3:]) == {""}


def test_explained_contributions_and_bias_sum_to_the_logit(cold, capsys):
    texts = ["wonderful great wonderful, but boring", "Awful. Zyzzyva!<br />terrible waste of time"]
    assert predict.main(["--model", str(cold.serving), "--json", "--explain", *texts]) == 0
    for line in capsys.readouterr().out.strip().splitlines():
        row = json.loads(line)
        e = row["explanation"]
        assert e["logit_of"] == "pos"  # two classes: the positive class's logit, whose sign decides
        assert sum(t["contribution"] for t in e["tokens"]) + e["bias"] == pytest.approx(e["logit"], abs=1e-5)
        assert 1 / (1 + np.exp(-e["logit"])) == pytest.approx(row["probabilities"]["pos"], abs=1e-5)
        tokens = {t["token"]: t for t in e["tokens"]}
        assert PADDING not in tokens  # the default averages real tokens only: padding has no share
        if "wonderful" in tokens:
            # One position per distinct term: its weight carries both occurrences (models/preprocessing.py).
            assert tokens["wonderful"]["count"] == 1 and tokens["wonderful"]["contribution"] > 0
            assert "wonderful great" in tokens  # a hashed bigram, named by its text
        else:
            assert "zyzzyva (oov)" in tokens and tokens["terrible"]["contribution"] < 0
    assert predict.main(["--model", str(cold.serving), "--explain", "--top", "3", texts[0]]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert shown[1].startswith("    logit of pos: +") and len(shown) == 2 + 3 + 1  # text, logit, 3 tokens, the rest
    assert shown[-1].strip().endswith("tokens") and "the other" in shown[-1]


def test_unchanged_rerun_runs_nothing(cold):
    # The first run after a push measures drift against the model it pushed (DriftCheck alone runs); whether
    # that already happened depends on which test files ran on the shared run before this one.
    code, first = run_cli(cold.base, cold.args)
    assert code == 0 and {c for c, state in states(first).items() if state == "ran"} <= {"DriftCheck"}, states(first)
    code, s = run_cli(cold.base, cold.args)
    assert code == 0
    # ServedModelBaseline too: the served model is the candidate itself, so the baseline stays "none".
    components = states(s)
    assert "ServedModelBaseline" in components
    assert set(components.values()) == {"cached"}, components


def test_a_new_project_version_leaves_the_run_cached(cold, tmp_path, monkeypatch):
    """configs.py (PROJECT_VERSION, DATASETS, Kubeflow resources) is in no component's code fingerprint."""
    from pipeline import configs

    copy = tmp_path / "project"
    for folder in ("components", "models", "pipeline"):
        shutil.copytree(configs.PROJECT_ROOT / folder, copy / folder, ignore=shutil.ignore_patterns("__pycache__"))
    edited = (
        (copy / "pipeline" / "configs.py")
        .read_text()
        .replace(f'PROJECT_VERSION = "{configs.PROJECT_VERSION}"', 'PROJECT_VERSION = "99.0.0"')
    )
    assert "99.0.0" in edited
    (copy / "pipeline" / "configs.py").write_text(edited)
    monkeypatch.setattr(configs, "PROJECT_ROOT", copy)  # the code fingerprints now read the edited project
    code, s = run_cli(cold.base, cold.args)
    assert code == 0, s["failure"]
    assert set(states(s).values()) == {"cached"}, states(s)


def test_a_change_in_serving_reaches_the_baseline_despite_the_cache(cold):
    """The baseline is read from the serving folder at run time; a cached choice would go stale."""
    newest = atomic_pusher.versions(str(cold.serving))[-1]
    other = cold.serving / str(newest + 1)
    shutil.copytree(cold.serving / str(newest), other)
    (other / "assets.extra" / "pushed_by.txt").write_text("another pipeline")  # new content, same model
    code, s = run_cli(cold.base, cold.args)
    assert code == 0, s["failure"]
    ran = {k for k, v in states(s).items() if v == "ran"}
    assert {"ServedModelBaseline", "Evaluator"} <= ran and "Trainer" not in ran
    overall = s["evaluation"]["overall"]
    assert overall["binary_accuracy (baseline)"] == pytest.approx(overall["binary_accuracy"], abs=1e-6)
    # No evaluation is recorded for that copy's content: TFMA evaluated it.
    assert baseline_figures(cold, s) == EVALUATED
    shutil.rmtree(other)  # the cold run's model is the served one again


def baseline_figures(cold, summary) -> str:
    _, _, evaluation = evaluator_run(cold.metadata, summary["run_id"])
    return evaluation.custom_properties[BASELINE_FIGURES_PROPERTY].string_value


def assert_same_gate_as_two_model_evaluation(cold, summary, out: Path) -> None:
    """The run's Evaluator used the baseline's recorded figures; TFMA evaluating both models agrees exactly.

    Same blessing, same validation result, and the same metrics (candidate,
    baseline and diff) on every slice.
    """
    inputs, properties, evaluation = evaluator_run(cold.metadata, summary["run_id"])
    assert evaluation.custom_properties[BASELINE_FIGURES_PROPERTY].string_value == RECORDED
    both, blessed = evaluate_again_with_both_models(inputs, properties, out)
    assert blessed == summary["evaluation"]["blessed"]
    assert tfma.load_validation_result(str(both)) == tfma.load_validation_result(evaluation.uri)
    recorded, evaluated = (tfma_results.evaluation_metrics(uri) for uri in (evaluation.uri, str(both)))
    assert recorded.keys() == evaluated.keys() and len(recorded) > 1
    for slice_name, metrics in evaluated.items():
        assert recorded[slice_name].keys() == metrics.keys(), slice_name
        # None: TFMA's NaN (e.g. precision of a slice without positives). 1e-7: TFMA sums float32 predictions, and
        # two evaluations may merge the partial sums in another order (calibration differed by 8.6e-9 once).
        for name, value in metrics.items():
            assert recorded[slice_name][name] == (None if value is None else pytest.approx(value, rel=1e-7)), (
                slice_name,
                name,
            )
    gate = [k for k in evaluated["overall"] if k.endswith("accuracy (diff)")]
    assert gate and all(recorded["overall"][k] == evaluated["overall"][k] for k in gate)


def test_changing_epochs_reruns_only_the_training_half(cold):
    code, s = run_cli(cold.base, cold.args, "--epochs", "29")
    assert code == 0, s["failure"]
    assert s["evaluation"]["blessed"] is True
    assert baseline_figures(cold, s) == RECORDED  # the cold run's model was recorded when it was blessed
    ran = {k for k, v in states(s).items() if v == "ran"}
    # DriftCheck re-runs when the newest served version changed since its last execution (other tests push).
    assert ran - {"DriftCheck"} == {"Trainer", "ServedModelBaseline", "Evaluator", "AtomicPusher"}
    # The new model is compared with the cold run's blessed model; each figure is reported apart.
    overall, cold_overall = s["evaluation"]["overall"], cold.summary["evaluation"]["overall"]
    assert overall["binary_accuracy (baseline)"] == pytest.approx(cold_overall["binary_accuracy"], abs=1e-6)
    assert overall["binary_accuracy (diff)"] == pytest.approx(
        overall["binary_accuracy"] - overall["binary_accuracy (baseline)"], abs=1e-6
    )
    assert s["evaluation"]["test_accuracy"] == overall["binary_accuracy"]


@pytest.mark.parametrize(
    "extra, reason",
    [
        (("--min-accuracy", "0.9999"), "lower bound 0.9999"),  # a threshold above reach
        (("--epochs", "0"), "binary_accuracy"),  # an untrained model
    ],
)
def test_model_missing_the_gate_is_not_pushed(cold, extra, reason):
    before = atomic_pusher.versions(str(cold.serving))
    if "--epochs" not in extra:
        extra = ("--epochs", "28", *extra)  # a fresh model, not the cached blessed one
    code, s = run_cli(cold.base, cold.args, *extra)
    assert code == 0, s["failure"]
    assert s["evaluation"]["blessed"] is False
    assert any(reason in line for line in s["evaluation"]["failures"]), s["evaluation"]["failures"]
    assert s["push"]["pushed"] is False
    assert atomic_pusher.versions(str(cold.serving)) == before
    assert (cold.serving / str(before[-1]) / "saved_model.pb").is_file()
    assert not [n for n in os.listdir(cold.serving) if not n.isdigit()]  # no staging leftovers


def test_worse_candidate_is_not_blessed_against_the_served_baseline(cold, capsys, tmp_path):
    """A tiny vocabulary (padding, OOV and one word) clears the lower bound but not the baseline."""
    before = atomic_pusher.versions(str(cold.serving))
    code, s = run_cli(cold.base, cold.args, "--vocab-size", "3", "--ngram-buckets", "0", "--min-accuracy", "0")
    assert code == 0, s["failure"]
    ran = {k for k, v in states(s).items() if v == "ran"}
    assert ran == {"Transform", "Trainer", "ServedModelBaseline", "Evaluator", "AtomicPusher"}
    overall = s["evaluation"]["overall"]
    assert overall["binary_accuracy"] < overall["binary_accuracy (baseline)"] - 0.01
    assert s["evaluation"]["blessed"] is False
    diff = overall["binary_accuracy (diff)"]
    # Which metric, which threshold: the no-regression limit alone (the lower bound, 0, is met).
    assert s["evaluation"]["failures"] == [
        f"overall: binary_accuracy (diff) = {diff:.4f} fails the no-regression limit: "
        f"change vs. the served baseline >= -0.01"
    ]
    assert f"not blessed because {s['evaluation']['failures'][0]}" in capsys.readouterr().out
    assert s["push"]["pushed"] is False
    assert atomic_pusher.versions(str(cold.serving)) == before  # serving keeps the baseline
    assert_same_gate_as_two_model_evaluation(cold, s, tmp_path)


def test_better_candidate_is_blessed_against_recorded_baseline_figures(cold, tmp_path):
    """A worse model is served (with a lenient gate); the cold run's model, better, is blessed against it."""
    worse = ("--vocab-size", "3", "--ngram-buckets", "0", "--min-accuracy", "0", "--max-accuracy-drop", "1")
    code, s = run_cli(cold.base, cold.args, *worse)
    assert code == 0, s["failure"]
    assert s["push"]["pushed"] is True
    code, s = run_cli(cold.base, cold.args)
    assert code == 0, s["failure"]
    assert "Trainer" not in {k for k, v in states(s).items() if v == "ran"}
    overall = s["evaluation"]["overall"]
    assert overall["binary_accuracy (diff)"] > 0.01
    assert s["evaluation"]["blessed"] is True
    assert baseline_figures(cold, s) == RECORDED  # the cold run's model was recorded when it was blessed


def only_dir(parent: Path) -> Path:
    dirs = sorted(glob.glob(str(parent / "*")), key=lambda p: int(os.path.basename(p)))
    return Path(dirs[-1])


def test_multiclass_corpus_of_root_level_class_folders_trains_end_to_end_quietly(tmp_path, capsys):
    """Three classes as `ROOT/<class>/<file>`: a softmax head, a confusion matrix, splits by hash.

    Run as a user runs it (`run_local.py` in its own process, no -v), its whole output is read: the project's
    own lines, training progress and the summary, no library notice (NOISE).
    """
    root = make_corpus(
        tmp_path / "corpus", classes=("csharp", "java", "neg"), n_train=80, imdb_names=False, classes_at_root=True
    )
    write_doc(root / "README.md", "# A corpus card beside the class folders")
    for i, text in enumerate(ZERO_TOKEN_TEXTS):  # issue 20's report: one such file made the loss NaN
        write_doc(root / ("csharp", "java", "neg")[i] / f"noise{i}.txt", text)
    args = [
        "--data-dir",
        str(root),
        "--work-dir",
        str(tmp_path / "runs"),
        "--epochs",
        "30",
        "--learning-rate",
        "0.02",
        "--patience",
        "30",
        "--min-accuracy",
        "0.6",
        "--summary",
        str(tmp_path / "summary.json"),
    ]
    done = run_local_to_the_end(args)
    assert done.returncode == 0, done.stdout[-3000:]
    s = json.loads((tmp_path / "summary.json").read_text())
    lines = done.stdout.splitlines()
    noisy = [line for line in lines if any(p.search(line) for p in NOISE)]
    assert noisy == [], "\n".join(noisy[:20])
    assert lines[0] == (
        f"corpus {root}: classes ['csharp', 'java', 'neg']; layout: train from the root's class "
        "folders, eval 20% of them (hash split), test 20% of them (hash split)"
    )
    # Our own warning passes the filter; the summary ends the output.
    assert "WARNING root: DirectoryExampleGen: 1 files skipped (listed in ingestion_report.json)" in done.stdout
    assert lines[-1].startswith("pushed: ") and any(line.startswith("blessed: ") for line in lines[-3:])
    # With -v the library logs are all there: the filter hides them, it does not stop them.
    assert re.search(r"^INFO absl", run_local_to_the_end([*args, "-v"]).stdout, re.M)
    examples_uri = Path(
        outputs_of(tmp_path / "runs" / "corpus" / "metadata.sqlite", s["run_id"])["DirectoryExampleGen"]["Examples"]
    )
    report = json.loads((examples_uri / "ingestion_report.json").read_text())
    assert report["skipped"] == [{"path": "README.md", "reason": "not inside a class folder"}]
    n_test = sum(report["splits"]["test"].values())
    assert 30 < n_test < 70 and sum(report["splits"]["train"].values()) > 100  # 20% and 60% of 240 expected
    # What `auto` found (models/preprocessing.chosen_tokenization): an English corpus, tokenized as words.
    assert s["tokenization"] == {"tokenizer": "auto", "unspaced_share": 0.0, "character_documents": 0.0}
    evaluation = s["evaluation"]
    assert evaluation["test_accuracy"] >= 0.8
    cm = evaluation["confusion_matrix"]
    assert cm["classes"] == ["csharp", "java", "neg"]
    matrix = np.array(cm["rows_actual_columns_predicted"])
    assert (
        matrix.shape == (3, 3)
        and matrix.sum() == n_test
        and np.trace(matrix) / n_test == pytest.approx(evaluation["test_accuracy"], abs=1e-6)
    )
    for c, name in enumerate(cm["classes"]):  # per-class precision/recall of the top-1 prediction, by class name
        assert evaluation["overall"][f"recall/{name}"] == pytest.approx(matrix[c, c] / matrix[c].sum(), abs=1e-6)
        assert evaluation["overall"][f"precision/{name}"] == pytest.approx(matrix[c, c] / matrix[:, c].sum(), abs=1e-6)
    model = tf.saved_model.load(s["push"]["path"])
    assert all(np.all(np.isfinite(v.numpy())) for v in model.signatures["serving_default"].variables)
    # Texts as long as the training documents: the pooling averages over padding too.
    out = model.signatures["predict_text"](
        text=tf.constant(
            ["maven spring jvm gradle hibernate servlet " * 4, "linq nuget dotnet visualstudio async await " * 4]
        )
    )
    assert out["probabilities"].shape == (2, 3)
    assert out["class_name"].numpy().tolist() == [b"java", b"csharp"]
    # `inspect slices` names the per-class metrics by class as the summary does.
    capsys.readouterr()
    assert inspect.main(["slices", "--metadata", str(tmp_path / "runs" / "corpus" / "metadata.sqlite"), "--json"]) == 0
    overall = next(row for row in json.loads(capsys.readouterr().out)["slices"] if row["slice"] == "overall")
    assert {f"{m}/{c}" for m in ("precision", "recall") for c in cm["classes"]} <= set(overall["metrics"])
    assert overall["metrics"]["recall/java"]["value"] == pytest.approx(evaluation["overall"]["recall/java"])
