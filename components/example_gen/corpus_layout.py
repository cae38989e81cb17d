"""A directory corpus's layout and classes: which folder each split comes from, and what is refused.

Pure Python with no Beam or TFX, so every rule here is unit-tested directly.

Layouts (`detect_layout`; anything else is refused with the folders named):

| layout                                   | train / eval / test come from                         |
|------------------------------------------|-------------------------------------------------------|
| `ROOT/train/<class>/`, `ROOT/test/<class>/` | train/ (hash split into train + eval), test/        |
| the same with `val/` (`valid/`, `validation/`, `dev/`, or `--eval-dir NAME`) | train/, the validation folder, test/ |
| `ROOT/train/<class>/` alone              | train/, hash split three ways                         |
| `ROOT/<class>/` (what `text_dataset_from_directory` reads) | the root, hash split three ways      |

Hash splits key on each duplicate group's content (components/example_gen/split_plan.py):
the same on every run, machine, listing order and file name.
"""

from __future__ import annotations

import dataclasses
import os
import posixpath
from collections.abc import Iterable, Sequence
from pathlib import Path

TRAIN, EVAL, TEST = "train", "eval", "test"
# The split folders a corpus may have, by name.
TRAIN_DIR, TEST_DIR = "train", "test"
EVAL_DIR_NAMES = ("val", "valid", "validation", "dev")
ROOT = "."  # the split folder of a corpus whose class folders are the root's own
# What DirectoryExampleGen does with one text under two labels (components/example_gen/split_plan.py).
ON_LABEL_CONFLICT = ("drop", "keep", "fail")


class CorpusError(ValueError):
    """The corpus cannot be used as it is; the message names the path and what to do."""


def _visible_subdirs(folder: Path) -> list[str]:
    return sorted(e.name for e in os.scandir(folder) if not e.name.startswith(".") and e.is_dir(follow_symlinks=False))


@dataclasses.dataclass(frozen=True)
class Layout:
    """Which folder of the root each output split is read from (None: a hash split of the training folder)."""

    train_dir: str  # ROOT when the class folders are directly under the root
    eval_dir: str | None = None
    test_dir: str | None = None

    def folders(self) -> list[str]:
        return [f for f in (self.train_dir, self.eval_dir, self.test_dir) if f]

    def source_folder(self, split: str) -> str:
        """The folder an output split is read from (hash splits share the training folder)."""
        return {EVAL: self.eval_dir, TEST: self.test_dir}.get(split) or self.train_dir

    def cuts_for(self, folder: str, eval_percent: int, test_percent: int) -> list[tuple[str, int]]:
        """How the files of `folder` are spread over output splits."""
        if folder == self.test_dir:
            return [(TEST, 100)]
        if folder == self.eval_dir:
            return [(EVAL, 100)]
        return split_cuts(None if self.eval_dir else eval_percent, None if self.test_dir else test_percent)

    def describe(self, eval_percent: int, test_percent: int) -> str:
        """One line for the run's start and the ingestion report."""
        source, of = ("the root's class folders", "them") if self.train_dir == ROOT else (f"{self.train_dir}/",) * 2
        parts = [f"train from {source}"]
        for split, folder, percent in ((EVAL, self.eval_dir, eval_percent), (TEST, self.test_dir, test_percent)):
            parts.append(f"{split} from {folder}/" if folder else f"{split} {percent}% of {of} (hash split)")
        return "layout: " + ", ".join(parts)


# The layout most corpora ship with (IMDB, Stack Overflow).
TRAIN_AND_TEST = Layout(TRAIN_DIR, test_dir=TEST_DIR)


def _folder_list(names: Iterable[str]) -> str:
    return ", ".join(f"{n}/" for n in names)


def detect_layout(
    root: Path, eval_dir: str | None = None, exclude_dirs: Sequence[str] = ()
) -> tuple[Layout, list[str]]:
    """The corpus's layout and class names; CorpusError naming the folders when it has none or several.

    `eval_dir`: the validation folder's name, when it is not one of
    EVAL_DIR_NAMES (or several of those exist). Folders in `exclude_dirs` are
    ignored beside the split folders as inside them.
    """
    root = Path(root)
    if not root.is_dir():
        raise CorpusError(
            f"corpus root {root} does not exist or is not a folder; "
            f"pass the folder that holds {TRAIN_DIR}/ (and {TEST_DIR}/), or the class folders"
        )
    subdirs = [d for d in _visible_subdirs(root) if d not in exclude_dirs]
    if eval_dir is not None:
        if eval_dir not in subdirs:
            raise CorpusError(
                f"--eval-dir {eval_dir}: {root} has no '{eval_dir}/' folder "
                f"(folders there: {_folder_list(subdirs) or 'none'})"
            )
        evals = [eval_dir]
    else:
        evals = [d for d in subdirs if d in EVAL_DIR_NAMES]
    if TRAIN_DIR in subdirs:
        if len(evals) > 1:
            raise CorpusError(
                f"{root} holds several validation folders ({_folder_list(evals)}); "
                "name the one to use with --eval-dir NAME"
            )
        others = [d for d in subdirs if d not in (TRAIN_DIR, TEST_DIR, *evals)]
        if others:
            raise CorpusError(
                f"{root} holds split folders ({_folder_list(d for d in subdirs if d not in others)}) and other "
                f"folders ({_folder_list(others)}) beside them: are those classes or not? Move class folders "
                f"into {root / TRAIN_DIR}/, or leave a folder out with --exclude-dir NAME"
            )
        layout = Layout(TRAIN_DIR, evals[0] if evals else None, TEST_DIR if TEST_DIR in subdirs else None)
    else:
        split_dirs = [d for d in (TEST_DIR, *evals) if d in subdirs]
        if split_dirs or not subdirs:
            raise CorpusError(
                f"{root} has no '{TRAIN_DIR}/' folder{f' but has {_folder_list(split_dirs)}' if split_dirs else ''}"
                f"; the layout is {root}/{TRAIN_DIR}/<class>/<file> (optionally with {TEST_DIR}/ and val/ "
                f"beside it), or {root}/<class>/<file>"
            )
        layout = Layout(ROOT)
    classes = discover_classes(root, layout.train_dir, exclude_dirs)
    for folder in (layout.eval_dir, layout.test_dir):
        if folder:
            check_same_classes(root, layout.train_dir, folder, classes, exclude_dirs)
    return layout, classes


def class_folder(folder: str, name: str) -> str:
    """'train/pos/', or 'pos/' for ROOT: the prefix of a class's files' paths relative to the root."""
    return posixpath.normpath(f"{folder}/{name}") + "/"


def discover_classes(root: Path, train_dir: str, exclude_dirs: Sequence[str] = ()) -> list[str]:
    """Class names: the sub-folders of the training folder (ROOT: of the root), sorted (label = index)."""
    root = Path(root)
    if not root.is_dir():
        raise CorpusError(
            f"corpus root {root} does not exist or is not a folder; pass the folder that holds train/ (and test/)"
        )
    train = root / train_dir
    if not train.is_dir():
        raise CorpusError(
            f"{root} has no '{train_dir}/' folder; the layout is "
            f"{root}/{train_dir}/<class>/<file> (and optionally test/<class>/<file>)"
        )
    classes = [c for c in _visible_subdirs(train) if c not in exclude_dirs]
    if not classes:
        raise CorpusError(f"{train} holds no class folders; put each class's documents in {train}/<class>/")
    if len(classes) < 2:
        raise CorpusError(
            f"{train} holds a single class folder ('{classes[0]}'); a classifier needs at least two classes"
        )
    return classes


def check_same_classes(
    root: Path, train_dir: str, test_dir: str, classes: Sequence[str], exclude_dirs: Sequence[str] = ()
) -> None:
    """`test_dir` (or a validation folder) holds the classes of `train_dir`, no more, no fewer."""
    test = Path(root) / test_dir
    test_classes = [c for c in _visible_subdirs(test) if c not in exclude_dirs]
    if list(test_classes) != list(classes):
        only_train = sorted(set(classes) - set(test_classes))
        only_test = sorted(set(test_classes) - set(classes))
        raise CorpusError(
            f"class folders differ between {Path(root) / train_dir} and {test}: "
            f"only in {train_dir}: {only_train or 'none'}; only in {test_dir}: {only_test or 'none'}. "
            "Both splits must hold the same classes."
        )


def check_classes_have_files(root: Path, folder: str, classes: Sequence[str]) -> None:
    """Refuses a class folder with no file at all: cheap (stops at the first file), so run before any work.

    Run after check_same_classes (every class folder exists). A class whose
    files are all unreadable is caught later, when they are read.
    """
    for name in classes:
        class_dir = Path(root) / folder / name
        has_file = any(not f.startswith(".") for _, _, files in os.walk(class_dir) for f in files)
        if not has_file:
            raise CorpusError(
                f"class folder {class_dir} has no documents; add documents to it, "
                "or remove the folder if it is not a class"
            )


def split_cuts(eval_percent: int | None, test_percent: int | None) -> list[tuple[str, int]]:
    """Bucket bounds for the training folder: [train | eval | test], without the splits that have a folder (None)."""
    cuts, upper = [], 100
    for split, percent in ((TEST, test_percent), (EVAL, eval_percent)):
        if percent is not None:
            cuts.insert(0, (split, upper))
            upper -= percent
    return [(TRAIN, upper)] + cuts
