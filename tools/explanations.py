"""Why the model decides: each token's exact share of a logit, for given texts and over a test split.

The model averages one embedding per token position and applies a Dense
layer, so a logit is a sum of one term per position plus a bias
(models/model.token_contributions; the exported `explain_text`
signature returns the terms). Nothing here approximates: the shares of a
text sum, with the bias, to its logit. A binary model has one logit (the
second class's; its sign decides); a multi-class model one per class.
"""

from __future__ import annotations

import os

PADDING = "<padding>"
OUT_OF_VOCABULARY = "<out of vocabulary>"


def explain(model, texts: list[str], classes: list[str]) -> list[dict]:
    """Per text: the explained logit, the bias and every token's summed contribution (model.token_contributions)."""
    import tensorflow as tf

    out = model.signatures["explain_text"](text=tf.constant(texts))
    tokens, ids = out["tokens"].numpy(), out["token_ids"].numpy()
    contributions, bias, logits = out["contributions"].numpy(), out["bias"].numpy(), out["logits"].numpy()
    results = []
    for i in range(len(texts)):
        column = _explained_column(logits, i)
        explained = classes[1] if logits.shape[1] == 1 else classes[column]
        summed: dict[str, float] = {}
        counts: dict[str, int] = {}
        for token, token_id, share in zip(tokens[i], ids[i], contributions[i, :, column], strict=True):
            # A padding position has id 0; a word outside the vocabulary shares id 1 with all others.
            label = PADDING if token_id == 0 else token.decode("utf-8", "replace") + (" (oov)" if token_id == 1 else "")
            summed[label] = summed.get(label, 0.0) + float(share)
            counts[label] = counts.get(label, 0) + 1
        if summed.get(PADDING) == 0.0:  # averaged out (mask_padding): no share to show
            del summed[PADDING]
        ranked = sorted(summed, key=lambda t: (-abs(summed[t]), t))
        results.append(
            {
                "logit_of": explained,
                "logit": float(logits[i, column]),
                "bias": float(bias[i, column]),
                "tokens": [{"token": t, "contribution": summed[t], "count": counts[t]} for t in ranked],
            }
        )
    return results


def _explained_column(logits, i: int) -> int:
    """Two classes: the one logit (the second class's); more: the predicted class's."""
    import numpy as np

    return 0 if logits.shape[1] == 1 else int(np.argmax(logits[i]))


def occurrence_floor(examples: int) -> int:
    """How often a token must occur to be ranked: 20 on a test split of 200 examples or more, fewer on a small
    one (down to 5), where 20 occurrences leave only stop words (and fewer than 5 let chance bigrams lead)."""
    return max(5, min(20, examples // 10))


def test_split_analysis(
    model,
    texts: list[bytes],
    labels: list[int],
    classes: list[str],
    top: int = 15,
    mistakes: int = 10,
    min_occurrences: int | None = None,
    batch_size: int = 256,
) -> dict:
    """Over labelled texts: per class, the tokens with the largest share of its logit per occurrence (among
    tokens seen `min_occurrences` times, default occurrence_floor: a summed share ranks "the" first), with
    their summed share; the most confident mistakes (index into `texts`, true and predicted class, the
    predicted class's probability); every text's predicted class.

    Binary: the second class's logit; the first class's tokens are those that lower it most. Words outside the
    vocabulary share one embedding, so they are counted together as OUT_OF_VOCABULARY.
    """
    import numpy as np
    import tensorflow as tf

    from models import model as model_lib

    if min_occurrences is None:
        min_occurrences = occurrence_floor(len(texts))
    columns = 1 if len(classes) == 2 else len(classes)
    predictions: list[int] = []
    totals: dict[bytes, np.ndarray] = {}
    counts: dict[bytes, int] = {}
    wrong = []
    for start in range(0, len(texts), batch_size):
        out = model.signatures["explain_text"](text=tf.constant(texts[start : start + batch_size]))
        ids = out["token_ids"].numpy()
        tokens = out["tokens"].numpy().astype(object)
        tokens[ids == 1] = OUT_OF_VOCABULARY.encode()
        real = ids != 0
        keys, inverse = np.unique(tokens[real], return_inverse=True)
        sums = np.zeros((len(keys), columns))
        np.add.at(sums, inverse, out["contributions"].numpy()[real])
        occurrences = np.bincount(inverse, minlength=len(keys))
        for key, total, n in zip(keys, sums, occurrences, strict=True):
            totals[key] = totals.get(key, 0.0) + total
            counts[key] = counts.get(key, 0) + int(n)
        # The served model's own mapping from logits to probabilities.
        for j, p in enumerate(model_lib.probabilities(out["logits"], len(classes)).numpy()):
            predicted, true = int(np.argmax(p)), labels[start + j]
            predictions.append(predicted)
            if predicted != true:
                wrong.append(
                    {
                        "index": start + j,
                        "true": classes[true],
                        "predicted": classes[predicted],
                        "probability": float(p[predicted]),
                    }
                )
    names = sorted(k for k in totals if counts[k] >= min_occurrences)
    matrix = np.array([totals[k] for k in names]) if names else np.zeros((0, columns))
    per_occurrence = matrix / np.array([[counts[k]] for k in names]) if names else matrix

    def ranked(column: int, sign: float) -> list[dict]:
        order = np.argsort(-sign * per_occurrence[:, column], kind="stable")[:top]
        return [
            {
                "token": names[k].decode("utf-8", "replace"),
                "share": float(per_occurrence[k, column]),
                "summed_share": float(matrix[k, column]),
                "occurrences": counts[names[k]],
            }
            for k in order
            if sign * matrix[k, column] > 0
        ]

    if columns == 1:
        influential = {classes[1]: ranked(0, 1.0), classes[0]: ranked(0, -1.0)}
    else:
        influential = {c: ranked(i, 1.0) for i, c in enumerate(classes)}
    wrong.sort(key=lambda w: (-w["probability"], w["index"]))
    return {
        "influential_tokens": influential,
        "mistakes": wrong[:mistakes],
        "errors": len(wrong),
        "examples": len(texts),
        "min_occurrences": min_occurrences,
        "predictions": predictions,
    }


def files_of_texts(root: str, settings, wanted: list[bytes]) -> dict[bytes, str]:
    """The test folder's file (path relative to `root`) holding each of `wanted` (UTF-8 texts as ingested).

    Examples do not carry their file; the test split is listed again with the
    run's ingestion settings and each file decoded as ingestion decodes it. A
    text not found (the corpus changed since) is left out.
    """
    from components.example_gen import corpus_layout, decoding, listing

    wanted_set, found = set(wanted), {}
    folder = settings.source_folder(corpus_layout.TEST)
    if not os.path.isdir(os.path.join(root, folder)):
        return found
    _, classes = corpus_layout.detect_layout(root, settings.eval_dir, settings.exclude_dirs)
    docs, _ = listing.scan_split_folder(
        root, folder, classes, settings.cuts_for(folder), settings.max_file_bytes, settings.exclude_dirs
    )
    for doc in docs:
        if doc.split not in (corpus_layout.TEST, listing.PENDING):  # PENDING: a folder cut by content, any split
            continue
        try:
            with open(doc.path, "rb") as f:
                text, _ = decoding.decode_document(f.read(settings.max_file_bytes + 1))
        except (OSError, decoding.SkipDocument):
            continue
        encoded = text.encode("utf-8")
        if encoded in wanted_set:
            found[encoded] = doc.rel
            if len(found) == len(wanted_set):
                break
    return found


def read_split(examples_uri: str, split: str):
    """(texts, labels, slices) of one split of an Examples artifact, in file order; slices[i] holds the
    example's value of each slicing feature it has ({'length_bucket': '0-99', 'has_html': '1', ...})."""
    import glob

    import tensorflow as tf

    from models.features import LABEL_KEY, SLICE_FEATURES, TEXT_KEY

    files = sorted(glob.glob(os.path.join(examples_uri, f"Split-{split}", "*")))
    texts, labels, slices = [], [], []
    for record in tf.data.TFRecordDataset(files, compression_type="GZIP").as_numpy_iterator():
        feature = tf.train.Example.FromString(record).features.feature
        texts.append(feature[TEXT_KEY].bytes_list.value[0])
        labels.append(int(feature[LABEL_KEY].int64_list.value[0]))
        values = {}
        for name in SLICE_FEATURES:
            if name in feature:
                kind = feature[name].WhichOneof("kind")
                value = getattr(feature[name], kind).value[0] if kind else None
                if value is not None:
                    values[name] = value.decode() if isinstance(value, bytes) else str(value)
        slices.append(values)
    return texts, labels, slices


def per_slice_precision_recall(
    predictions: list[int], labels: list[int], slices: list[dict[str, str]], classes: list[str]
) -> dict[str, dict]:
    """{'feature=value': {'n': examples, 'accuracy': a, 'classes': {class: {'precision', 'recall', 'support'}}}}
    from the top-1 predictions; a precision or recall of a class the slice holds no example of (label=neg's
    pos: every pos prediction there is wrong by construction, a 0 that says nothing), or a precision with no
    prediction of the class, is None ("n/a" in the report)."""
    groups: dict[str, list[int]] = {}
    for i, values in enumerate(slices):
        for feature, value in values.items():
            groups.setdefault(f"{feature}={value}", []).append(i)
    out = {}
    for name, members in sorted(groups.items()):
        per_class = {}
        for c, cls in enumerate(classes):
            predicted = [i for i in members if predictions[i] == c]
            actual = [i for i in members if labels[i] == c]
            hits = sum(1 for i in predicted if labels[i] == c)
            per_class[cls] = {
                "precision": hits / len(predicted) if predicted and actual else None,
                "recall": hits / len(actual) if actual else None,
                "support": len(actual),
            }
        correct = sum(1 for i in members if predictions[i] == labels[i])
        out[name] = {"n": len(members), "accuracy": correct / len(members), "classes": per_class}
    return out
