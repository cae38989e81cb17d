"""Classify texts with a pushed model, and say why.

    python -m pipeline.predict --model runs/imdb/serving "A wonderful film." "Dull and far too long."
    python -m pipeline.predict --model runs/imdb/serving/1764000000 --file reviews.txt   # one text per line
    python -m pipeline.predict --model runs/imdb/serving --explain "Not good, not good at all."

--model is a serving folder (its newest version is used) or one version's folder.

--explain: the model's logit is an average of one term per token position
(embedding . output weights) plus a bias, so each token's share is exact. For
the predicted class (two classes: the second class's logit, whose sign decides),
the --top tokens (hashed n-grams by their text) that moved it most are printed with
their signed contribution in logit units, a token's occurrences summed; with
--json, every token, and the bias and logit they sum to.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Dict, List, Optional

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pipeline.explanations import explain  # noqa: E402


def resolve_model_dir(path: Path) -> Path:
    """A SavedModel folder: `path` itself, or the newest numbered version inside it."""
    if (path / "saved_model.pb").is_file():
        return path
    versions = sorted((p for p in path.iterdir() if p.name.isdigit()), key=lambda p: int(p.name)) if path.is_dir() else []
    if not versions:
        raise FileNotFoundError(f"{path} is neither a SavedModel nor a serving folder with numbered versions; "
                                "pass --model <serving dir> or <serving dir>/<version>")
    return versions[-1]


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m pipeline.predict", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--file", type=Path, help="read one text per line from this file ('-' for stdin)")
    p.add_argument("--json", action="store_true", help="one JSON object per text")
    p.add_argument("--explain", action="store_true", help="show the tokens that moved each decision most")
    p.add_argument("--top", type=int, default=10, help="--explain: how many tokens to show (default: %(default)s)")
    p.add_argument("texts", nargs="*")
    args = p.parse_args(argv)

    texts = list(args.texts)
    if args.file:
        lines = sys.stdin.read() if str(args.file) == "-" else args.file.read_text(encoding="utf-8")
        texts += [line for line in lines.splitlines() if line.strip()]
    if not texts:
        p.error("give texts as arguments or --file")
    try:
        model_dir = resolve_model_dir(args.model)
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2

    import tensorflow as tf  # slow import, after argument checks

    model = tf.saved_model.load(str(model_dir))
    out = model.signatures["predict_text"](text=tf.constant(texts))
    from models.features import CLASS_NAMES_FILE

    classes = json.loads((model_dir / "assets.extra" / CLASS_NAMES_FILE).read_text())
    explanations = explain(model, texts, classes) if args.explain else [None] * len(texts)
    for i, text in enumerate(texts):
        name = out["class_name"][i].numpy().decode()
        probs = out["probabilities"][i].numpy().tolist()
        if args.json:
            print(json.dumps({"text": text, "class": name, "probabilities": dict(zip(classes, probs)),
                              **({"explanation": explanations[i]} if explanations[i] else {})}))
        else:
            print(f"{name}\t{max(probs):.3f}\t{text}")
            if explanations[i]:
                print(format_explanation(explanations[i], args.top))
    return 0


def format_explanation(e: Dict, top: int) -> str:
    shown, rest = e["tokens"][:top], e["tokens"][top:]
    lines = [f"    logit of {e['logit_of']}: {e['logit']:+.4f} = bias {e['bias']:+.4f} + the tokens':"]
    for t in shown:
        times = f" (x{t['count']})" if t["count"] > 1 else ""
        lines.append(f"    {t['contribution']:+.4f}  {t['token']}{times}")
    if rest:
        lines.append(f"    {sum(t['contribution'] for t in rest):+.4f}  the other {len(rest)} tokens")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
