"""What a file's bytes say: its text (the corpus's decoding policy) and its words.

Pure Python (no TensorFlow), so the commands that read a user's text files
(`python -m tools.predict --file`) decode them exactly as ingestion does,
without loading TensorFlow first. The policy's table is in components/example_gen/corpus.py.
"""

from __future__ import annotations

import re

# An HTML tag: `<br />`, `<p>`, `</a>`, `<a href="...">`; not `a < b and c > d`.
_HTML_RE = re.compile(rb"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>")

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
FALLBACK_ENCODINGS = ("cp1252", "latin-1")  # tried in this order when a file is not UTF-8
EMPTY = "empty or whitespace-only"
NO_WORDS = "no words: nothing but HTML markup"


class SkipDocument(Exception):
    """A file that is not a usable document; `args[0]` is the reason."""


def decode_document(data: bytes) -> tuple[str, str]:
    """Returns (text, encoding used); raises SkipDocument for what is not text."""
    encoding = None
    for bom, enc in _BOMS:
        if data.startswith(bom):
            encoding = enc
            break
    if encoding:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as err:
            raise SkipDocument(f"undecodable {encoding} despite its byte-order mark: {err.reason}") from err
    elif b"\x00" in data:
        raise SkipDocument("binary file (NUL bytes)")
    else:
        for encoding in ("utf-8",) + FALLBACK_ENCODINGS:
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
    if not text.strip():
        raise SkipDocument(EMPTY)
    return text, encoding


def word_count(text: bytes) -> int:
    """Words of the UTF-8 text as a reader sees it: HTML tags are not words."""
    return len(_HTML_RE.sub(b" ", text).split())


def has_html(text: bytes) -> bool:
    return bool(_HTML_RE.search(text))
