"""Beam's reading of a DoFn method's parameters, done once per method instead of once per call.

Beam reads the parameters of every method of every DoFn (`dir(dofn)`, base-class
methods included) each time it builds a stage's bundle processor, and again
when it builds the pipeline (`userstate.get_dofn_specs`, through
`core.get_function_args_defaults` and `inspect.signature`). On IMDB,
StatisticsGen made 2,532 such calls that took 2.1 s of its 10.8 s, Transform
2,192 (2.1 s of 25.3 s), the Evaluator 1,618 (1.4 s), ExampleGen 730 (0.6 s)
(bench/NOTES.md, "Beam's signatures, once per method").

`install()` puts a cache in front of `core.get_function_args_defaults` for
bound methods, the only case that repeats: a bound method's parameters are its
function's, less the first, whatever object it is bound to. An entry is keyed
by the function (weakly: a function that goes away takes its entry with it)
and holds what `inspect.signature` reads of it (code, defaults, keyword
defaults, `__wrapped__`, `__signature__`); a function whose attributes are no
longer the same objects is read again. Anything else (plain functions, a
`beam.Map`'s callable, classes, builtins) goes to Beam's own function.

Written against the Beam this project pins (`BEAM_VERSION`): on another version
`install()` leaves Beam as it is, and tests/code/test_beam_signatures.py fails
until the cache is checked against that version's code.
"""

from __future__ import annotations

import types
import weakref

BEAM_VERSION = "2.74.0"  # the version whose core.get_function_args_defaults this mirrors (requirements.lock)
_READ_BY_SIGNATURE = ("__code__", "__defaults__", "__kwdefaults__", "__wrapped__", "__signature__")


def cached(read):
    """`read` (Beam's get_function_args_defaults) with bound methods' results kept per function."""
    entries: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def get_function_args_defaults(f):
        if not isinstance(f, types.MethodType):
            return read(f)
        func = f.__func__
        attributes = tuple(getattr(func, name, None) for name in _READ_BY_SIGNATURE)
        try:
            entry = entries.get(func)
        except TypeError:  # a callable that cannot be weakly referenced or hashed
            return read(f)
        if entry is None or any(now is not then for now, then in zip(attributes, entry[0], strict=True)):
            entry = (attributes, read(f))
            entries[func] = entry
        args, defaults = entry[1]
        return list(args), list(defaults)  # fresh lists, as Beam returns: a caller may change its own

    get_function_args_defaults.wrapped = read
    return get_function_args_defaults


def install() -> bool:
    """Caches Beam's method parameters in this process; idempotent. False (Beam left as it is) on another Beam."""
    import apache_beam
    from apache_beam.transforms import core

    if apache_beam.__version__ != BEAM_VERSION:
        return False
    if not hasattr(core.get_function_args_defaults, "wrapped"):
        core.get_function_args_defaults = cached(core.get_function_args_defaults)
    return True
