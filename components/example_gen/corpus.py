"""Reading a directory corpus's listed documents into examples, and the check that every split gets each class.

The listing (which files are documents, hash splits, the cache's fingerprint) is components/example_gen/listing.py;
the layouts and class folders are components/example_gen/corpus_layout.py.

No Beam or TFX (TensorFlow only through records.make_example), so every policy here is unit-tested directly.

Policy for a listed file that is not a clean document (each skipped file is reported with its reason; nothing is
dropped silently):

| what                                   | policy                                        |
|----------------------------------------|-----------------------------------------------|
| larger than `max_file_bytes` when read | skipped                                       |
| NUL bytes (binary), no UTF-16 BOM      | skipped                                       |
| UTF-8 / UTF-16 with BOM                | decoded                                       |
| not valid UTF-8                        | decoded as cp1252, else latin-1; counted      |
| empty or whitespace-only after decoding| skipped                                       |
| nothing but HTML markup (`<br /><p>`)  | skipped: no words (word_count would be 0)     |
| words, no token once standardized     | read: trained, evaluated, answered by the bias |

Text is stored as UTF-8: for a UTF-8 file these are the bytes as read.
"""

from __future__ import annotations

import collections
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from components.example_gen import decoding
from components.example_gen.corpus_layout import TRAIN, CorpusError, Layout, class_folder
from components.example_gen.decoding import SkipDocument, decode_document
from components.example_gen.listing import Document, Skipped, scan_split_folder
from components.example_gen.records import make_example


def check_every_split_gets_each_class(
    root: Path,
    layout: Layout,
    classes: Sequence[str],
    eval_percent: int,
    test_percent: int,
    max_file_bytes: int,
    exclude_dirs: Sequence[str] = (),
) -> None:
    """Refuses, from the listing alone (no file is read), a class that some split cannot get a file of.

    A folder cut into N splits (by a hash of each document's content, known only
    once it is read) gives a class of fewer than N files no document in some
    split, and ExampleGen would fail only after reading the whole corpus. A small
    class that the hash happens to leave out of a split, and files refused when
    they are read (empty, binary), are caught then
    (directory_example_gen.check_nothing_empty).
    """
    for folder in layout.folders():
        cuts = layout.cuts_for(folder, eval_percent, test_percent)
        docs, _ = scan_split_folder(root, folder, classes, cuts, max_file_bytes, exclude_dirs)
        listed = collections.Counter(doc.label for doc in docs)
        for label, name in enumerate(classes):
            if listed[label] >= len(cuts):
                continue
            where = Path(root) / class_folder(folder, name)
            if len(cuts) == 1:
                raise CorpusError(
                    f"class '{name}' has no readable file in {where} for split '{cuts[0][0]}'; "
                    "add documents to it (every file there was skipped at listing: too large, a link)"
                )
            shares = ", ".join(
                f"{split} {upper - lower}%" for (split, upper), lower in zip(cuts, _lowers(cuts), strict=True)
            )
            held_out = [split for split, _ in cuts if split != TRAIN]
            raise CorpusError(
                f"class '{name}' would have no documents in some split: {where} holds {listed[label]} readable "
                f"file(s), and {len(cuts)} splits ({shares}) take a share of them by a hash of each document. "
                "Add documents to that class (a few dozen give every split its share), "
                f"or give the corpus its own {' and '.join(held_out)} folder"
            )


def _lowers(cuts: Sequence[tuple[str, int]]) -> list[int]:
    return [0] + [upper for _, upper in cuts[:-1]]


def read_documents(docs: Iterable[Document], max_file_bytes: int):
    """Yields ('example', split, label, serialized, text, rel) | ('skipped', Skipped) | ('fallback', rel, encoding)."""
    for doc in docs:
        try:
            with open(doc.path, "rb") as f:
                data = f.read(max_file_bytes + 1)
            if len(data) > max_file_bytes:
                raise SkipDocument(f"too large: over max_file_bytes {max_file_bytes}")
            text, encoding = decode_document(data)
            encoded = text.encode("utf-8")
            words = decoding.word_count(encoded)
            if words == 0:
                raise SkipDocument(decoding.NO_WORDS)
        except SkipDocument as skip:
            yield ("skipped", Skipped(doc.rel, skip.args[0]))
            continue
        except OSError as err:
            yield ("skipped", Skipped(doc.rel, f"cannot read: {err.strerror or err}"))
            continue
        if encoding not in ("utf-8", "utf-8-sig"):
            yield ("fallback", doc.rel, encoding)
        example = make_example(encoded, doc.label, os.path.basename(doc.path), doc.rel, words)
        # deterministic=True: feature maps serialize in key order, so the same
        # corpus gives byte-identical records on every run.
        yield ("example", doc.split, doc.label, example.SerializeToString(deterministic=True), text, doc.rel)


def count_table(counts: dict[tuple[str, int], int], classes: Sequence[str], splits: Sequence[str]) -> dict:
    return {s: {c: counts.get((s, i), 0) for i, c in enumerate(classes)} for s in splits}
