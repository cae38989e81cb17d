"""A command's imports of its libraries, without the cyclic garbage collector.

Importing TensorFlow, TFX's local runner, Beam and the pipeline makes about 660,000 objects the collector tracks,
and its collections while they were made took about a quarter of the imports: 4.40 and 4.53 s with the collector,
3.35 and 3.45 s without it (bench/NOTES.md, "The imports without the garbage collector"). What the imports make
lives as long as the process, so CPython's documented pattern for such objects applies (the `gc.freeze` docs):
collector off early, `gc.freeze()` once the objects exist (every later collection leaves them out), collector on.
Reference counting frees everything else as before; a cycle made during the imports is collected never instead
of later.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def imports_without_gc() -> Iterator[None]:
    """The collector off for the block (the imports), then what the block made frozen and the collector on again
    (as it was: off stays off)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
