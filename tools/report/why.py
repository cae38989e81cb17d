"""The report's why section (tools/report/page.py): the tokens that moved the test split's decisions, and the most
confident mistakes with their files."""

from __future__ import annotations

import html
import os

from pipeline.recorded import mlmd
from tools.evaluations import shown_path

_E = html.escape

EXCERPT_CHARACTERS = 240


def excerpt(text: str, limit: int = EXCERPT_CHARACTERS) -> str:
    """The text up to `limit` characters, cut at a word's end, with an ellipsis when cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit + 1].rsplit(" ", 1)[0] if " " in text[: limit + 1] else text[:limit]
    return cut.rstrip(" ,;:.") + " …"


def why_figures(store, evaluator, examples, class_names: list[str]) -> dict:
    """The evaluated model over the test split (explanations.test_split_analysis), with each mistake's file."""
    import tensorflow as tf

    from components.example_gen.settings import IngestSettings
    from tools import explanations

    model_artifact = mlmd.input_artifacts(store, evaluator.id)["model"][0]
    model = tf.saved_model.load(os.path.join(model_artifact.uri, "Format-Serving"))
    texts, labels, slices = explanations.read_split(examples.uri, "test")
    analysis = explanations.test_split_analysis(model, texts, labels, class_names)
    example_gen = mlmd.producer(store, examples.id)
    root = mlmd.custom_property(example_gen, "input_base")
    settings = IngestSettings.from_exec_properties(
        {"custom_config": mlmd.custom_property(example_gen, "custom_config")}
    )
    files = explanations.files_of_texts(root, settings, [texts[m["index"]] for m in analysis["mistakes"]])
    for m in analysis["mistakes"]:
        text = texts[m.pop("index")]
        m["file"] = files.get(text)
        m["excerpt"] = excerpt(text.decode("utf-8", "replace"))
    return {**analysis, "corpus_root": root, "labels": labels, "slices": slices}


def why_html(why: dict, class_names: list[str]) -> str:
    tables = "".join(
        f"<figure><table><tr><th>{_E(c)}: token</th><th>share</th><th>summed</th><th>times</th></tr>"
        + "".join(
            f"<tr><td>{_E(t['token'])}</td><td>{t['share']:+.3f}</td><td>{t['summed_share']:+.1f}</td>"
            f"<td>{t['occurrences']}</td></tr>"
            for t in tokens
        )
        + "</table></figure>"
        for c, tokens in why["influential_tokens"].items()
    )
    mistakes = (
        "".join(
            f"<tr><td>{_E(m['file'] or '(file not found)')}</td><td>{_E(m['true'])}</td>"
            f"<td>{_E(m['predicted'])}</td><td>{m['probability']:.3f}</td>"
            f"<td style='text-align:left'>{_E(m['excerpt'])}</td></tr>"
            for m in why["mistakes"]
        )
        or "<tr><td colspan=5>none</td></tr>"
    )
    binary = len(class_names) == 2
    explained = (
        f"the {_E(class_names[1])} logit (negative: toward {_E(class_names[0])})"
        if binary
        else "each class&#39;s logit"
    )
    return f"""<h2>Why: the tokens that moved the test split's decisions</h2>
<p>Each token's share of {explained} per occurrence, and summed over its occurrences in the {why["examples"]}
test examples (logit units; exact: the model averages one term per token); the tokens with the largest share
per occurrence among those seen at least {why["min_occurrences"]} times.</p>
{tables}
<h2>Most confident mistakes</h2>
<p>{why["errors"]} of {why["examples"]} test examples misclassified; files under
<code>{_E(shown_path(why["corpus_root"]))}</code>.</p>
<table><tr><th>file</th><th>true</th><th>predicted</th><th>probability</th><th>text</th></tr>{mistakes}</table>"""
