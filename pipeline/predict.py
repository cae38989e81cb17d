"""Classify texts with a pushed model.

    python -m pipeline.predict --model runs/imdb/serving "A wonderful film." "Dull and far too long."
    python -m pipeline.predict --model runs/imdb/serving/1764000000 --file reviews.txt   # one text per line

--model is a serving folder (its newest version is used) or one version's folder.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import List, Optional

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


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

    import tensorflow as tf  # noqa: WPS433 (slow import, after argument checks)

    predict = tf.saved_model.load(str(model_dir)).signatures["predict_text"]
    out = predict(text=tf.constant(texts))
    classes = json.loads((model_dir / "assets.extra" / "class_names.json").read_text())
    for i, text in enumerate(texts):
        name = out["class_name"][i].numpy().decode()
        probs = out["probabilities"][i].numpy().tolist()
        if args.json:
            print(json.dumps({"text": text, "class": name, "probabilities": dict(zip(classes, probs))}))
        else:
            print(f"{name}\t{max(probs):.3f}\t{text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
