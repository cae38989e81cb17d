"""Classify texts with a pushed model, and say why.

    python -m tools.predict --model runs/imdb/serving "A wonderful film." "Dull and far too long."
    python -m tools.predict --model runs/imdb/serving/1764000000 --file reviews.txt   # one text per line
    python -m tools.predict --model runs/imdb/serving --explain "Not good, not good at all."

--model is a serving folder (its newest version is used) or one version's folder.
--file is read with the corpus's decoding (UTF-8, else cp1252, else latin-1; a
note says when a fallback was used), one text per line.

A text with no tokens (empty, or only punctuation and markup once standardized)
is answered from the model's bias alone, the same answer in training and in
every signature (models/model.py); it gets no class ("-"; JSON: "class": null,
"token_count": 0). A text whose words are mostly outside the vocabulary is
marked so (JSON: "oov_count" of "word_count"). --file results carry their line
number. A model that answers NaN is refused, never printed.

--explain: the model's logit is a sum of one term per token position
(embedding . output weights, over the pooling's divisor: sqrt(n) by default, n with
--pooling mean) plus a bias, so each token's share is exact. For
the predicted class (two classes: the second class's logit, whose sign decides),
the --top tokens (hashed n-grams by their text) that moved it most are printed with
their signed contribution in logit units, a token's occurrences summed; with
--json, every token, and the bias and logit they sum to.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from pipeline import quiet
from tools.explanations import explain

NO_TOKENS = "no tokens: the model's answer without evidence"


class PredictError(RuntimeError):
    """A request that cannot be answered; the message names the flag or file and what to pass instead."""


def resolve_model_dir(path: Path) -> Path:
    """A SavedModel folder: `path` itself, or the newest numbered version inside it."""
    if (path / "saved_model.pb").is_file():
        return path
    versions = (
        sorted((p for p in path.iterdir() if p.name.isdigit()), key=lambda p: int(p.name)) if path.is_dir() else []
    )
    if not versions:
        what = (
            f"pass --model {path / 'serving'} (the run's serving folder)"
            if (path / "serving").is_dir()
            else "pass --model <serving dir> or <serving dir>/<version>"
        )
        raise PredictError(f"--model {path}: neither a SavedModel nor a serving folder with numbered versions; {what}")
    if not (versions[-1] / "saved_model.pb").is_file():
        raise PredictError(
            f"--model {path}: its newest version {versions[-1]} holds no saved_model.pb; "
            "remove that folder, or pass --model <serving dir>/<version> of a complete version"
        )
    return versions[-1]


def read_texts(file: Path) -> list[tuple[int, str]]:
    """(line number, text) of each non-blank line of `file` ('-': stdin), decoded as ingestion decodes a corpus
    file; the numbers let a reader match results to lines when blank lines were skipped."""
    from components.example_gen import decoding

    if str(file) == "-":
        data = sys.stdin.buffer.read()
    else:
        if file.is_dir():
            raise PredictError(
                f"--file {file}: a folder; pass a text file with one text per line "
                "(to label a folder of files, use python -m tools.infer)"
            )
        try:
            data = file.read_bytes()
        except OSError as err:
            raise PredictError(f"--file {file}: {err.strerror or err}; pass a readable text file") from err
    try:
        text, encoding = decoding.decode_document(data)
    except decoding.SkipDocument as skip:
        raise PredictError(f"--file {file}: {skip.args[0]}; pass a text file with one text per line") from skip
    if encoding in decoding.FALLBACK_ENCODINGS:
        print(f"note: --file {file} is not UTF-8; decoded as {encoding}", file=sys.stderr)
    return [(number, line) for number, line in enumerate(text.splitlines(), 1) if line.strip()]


def _top(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a whole number of tokens, got {value!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m tools.predict", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--model", type=Path, required=True, help="a serving folder (its newest version) or one version's folder"
    )
    p.add_argument("--file", type=Path, help="read one text per line from this file ('-' for stdin)")
    p.add_argument("--json", action="store_true", help="one JSON object per text")
    p.add_argument("--explain", action="store_true", help="show the tokens that moved each decision most")
    p.add_argument(
        "--top", type=_top, default=10, help="--explain: how many tokens to show, at least 1 (default: %(default)s)"
    )
    quiet.add_flag(p)
    p.add_argument("texts", nargs="*", help="texts to classify (quote each)")
    return p


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    return parser().parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    quiet.setup(args.verbose)
    try:
        lines = [(None, text) for text in args.texts] + (read_texts(args.file) if args.file else [])
        if not lines:
            p.error("give texts as arguments or --file")
        model_dir = resolve_model_dir(args.model)
        progress = quiet.terminal_progress()
        try:
            return _predict(model_dir, lines, args, progress)
        finally:
            progress("")  # an error's line, like the answers, starts on a clean line
    except PredictError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


# A text whose words are mostly outside the vocabulary is answered from little: said beside its answer.
MOSTLY_UNKNOWN = 0.5
SHOWN_CHARACTERS = 200  # of each text, in the human-readable line (JSON has it whole)


def _reading(oov: int | None, words: int | None) -> str:
    if oov is None or not words or oov / words <= MOSTLY_UNKNOWN:
        return ""
    return f"\t(most words unknown to the model: {oov} of {words})"


def _predict(model_dir: Path, lines: list[tuple[int | None, str]], args: argparse.Namespace, progress) -> int:
    """Prints each text's answer; `progress(step)` is told the slow steps (3-4 s to import TensorFlow, 2 s to
    load a model: quiet.terminal_progress shows them on a terminal, and the empty step clears the line)."""
    texts = [text for _, text in lines]
    progress("predict: loading TensorFlow")
    import tensorflow as tf  # slow import, after the argument checks

    from models.features import CLASS_NAMES_FILE

    # Grappler's graph rewrites pay off in long-lived servers; here they are paid once per command, for nothing:
    # on the IMDB model, one text's first call took 1.10-1.15 s with them and 0.45-0.55 s without, and 5,000
    # texts 2.80 s against 2.06 s, with the same probabilities (bench/NOTES.md, 2026-12-04).
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})

    progress(f"predict: loading the model {model_dir}")
    try:
        model = tf.saved_model.load(str(model_dir))
        classes = json.loads((model_dir / "assets.extra" / CLASS_NAMES_FILE).read_text())
    except (OSError, ValueError, tf.errors.OpError) as err:
        raise PredictError(
            f"--model {model_dir}: not a model this project exported ({type(err).__name__}: "
            f"{str(err).splitlines()[0] if str(err) else ''}); pass a version a run pushed"
        ) from err
    progress(f"predict: classifying {len(texts)} text{'s' if len(texts) != 1 else ''}")
    out = model.signatures["predict_text"](text=tf.constant(texts))
    probabilities = out["probabilities"].numpy()
    if not all(math.isfinite(v) for v in probabilities.flat):
        raise PredictError(
            f"--model {model_dir} answers NaN (a model exported before the zero-token fix); "
            "train and push a new version with run_local.py"
        )

    def column(key):  # a model exported before the output existed has none
        return out[key].numpy().tolist() if key in out else [None] * len(texts)

    counts, oov, words = column("token_count"), column("oov_count"), column("word_count")
    explanations = explain(model, texts, classes) if args.explain else [None] * len(texts)
    progress("")
    for i, (number, text) in enumerate(lines):
        name = out["class_name"][i].numpy().decode()
        probs = probabilities[i].tolist()
        if args.json:
            print(
                json.dumps(
                    {
                        **({"line": number} if number is not None else {}),
                        "text": text,
                        # No token: the answer is the model's bias, not a reading of the text; no class, so that
                        # a count of classes does not take it for one.
                        "class": None if counts[i] == 0 else name,
                        "probabilities": dict(zip(classes, probs, strict=True)),
                        "token_count": counts[i],
                        "oov_count": oov[i],
                        "word_count": words[i],
                        **({"explanation": explanations[i]} if explanations[i] else {}),
                    }
                )
            )
        else:
            note = f"\t({NO_TOKENS})" if counts[i] == 0 else _reading(oov[i], words[i])
            shown = text if len(text) <= SHOWN_CHARACTERS else text[:SHOWN_CHARACTERS] + "..."
            where = f"line {number}\t" if number is not None else ""
            print(f"{where}{'-' if counts[i] == 0 else name}\t{max(probs):.3f}\t{shown}{note}")
            if explanations[i]:
                print(format_explanation(explanations[i], args.top))
    return 0


def format_explanation(e: dict, top: int) -> str:
    shown, rest = e["tokens"][:top], e["tokens"][top:]
    lines = [f"    logit of {e['logit_of']}: {e['logit']:+.4f} = bias {e['bias']:+.4f} + the tokens':"]
    for t in shown:
        times = f" (x{t['count']})" if t["count"] > 1 else ""
        lines.append(f"    {t['contribution']:+.4f}  {t['token']}{times}")
    if rest:
        lines.append(f"    {sum(t['contribution'] for t in rest):+.4f}  the other {len(rest)} tokens")
    return "\n".join(lines)


if __name__ == "__main__":
    quiet.exit_with(main)
