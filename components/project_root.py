"""The folder that holds the project's packages, wherever the clone (or the image's copy) lives.

Files of the project (curated schemas, the modules a worker imports) are named relative to it, so that no
path of a particular machine reaches a cache key or a pipeline spec.
"""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def project_relative(path: Path) -> str:
    """`path` relative to the project root when it lies inside it (posix form), else absolute."""
    path = Path(path).resolve()
    try:
        return path.relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return str(path)


def resolve(path: str) -> str:
    """A path as `project_relative` wrote it, made absolute again for this clone."""
    return path if Path(path).is_absolute() or "://" in path else str(PROJECT_ROOT / path)
