"""Acquire a known corpus: download (or take from a mirror), verify, extract safely, cache.

    corpus_root = acquire("imdb")            # -> <cache>/imdb/ holding train/ and test/

Sources, first match wins:
  * a mirror given by `mirror=` or the DATA_MIRROR environment variable: a
    directory or a URL prefix (http://, https://, file://) holding archives
    under their canonical file names beside a `SHA256SUMS` file, which is
    authoritative for what it lists;
  * the dataset's canonical URL, checked against the sha256 upstream publishes
    (`DatasetSpec.sha256`). Where upstream publishes none, the first download
    is trusted: a warning names its sha256, which is recorded in
    `<cache>/SHA256SUMS.trusted`, and a later download from the same URL with
    another sha256 is refused (trust on first use).

The registry is a convenience: any directory corpus in the
`ROOT/<split>/<class>/<file>` layout works with `run_local.py --data-dir`. The transport and its checksums:
pipeline/corpora/downloads.py; the safe extraction: pipeline/corpora/archives.py.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

from components.example_gen import corpus_layout
from pipeline import configs
from pipeline.corpora import archives, downloads

CHECKSUMS_FILE = "SHA256SUMS"
# sha256 of canonical downloads that upstream publishes no checksum for, as
# seen the first time (sha256sum format, keyed by URL).
TRUSTED_FILE = "SHA256SUMS.trusted"
_COMPLETE_MARKER = ".complete.json"


def _is_url(location: str) -> bool:
    return urllib.parse.urlparse(location).scheme in ("http", "https", "file")


@dataclasses.dataclass(frozen=True)
class _Fetched:
    path: Path
    expected: str | None  # sha256 to check against; None: nobody vouches for this file
    owned: bool  # ours to delete (a download), not a mirror's file
    url: str | None = None  # set for a download from the dataset's canonical URL


def _fetch_archive(spec: configs.DatasetSpec, mirror: str | None, download_dir: Path, progress: bool) -> _Fetched:
    if mirror:
        if _is_url(mirror):
            prefix = mirror.rstrip("/") + "/"
            sums = downloads.parse_checksums(downloads.read_url_text(prefix + CHECKSUMS_FILE))
            path = downloads.download(prefix + spec.archive, download_dir / spec.archive, progress)
            return _Fetched(path, sums.get(spec.archive, spec.sha256), owned=True)
        mirror_dir = Path(mirror).expanduser()
        path = mirror_dir / spec.archive
        if not path.is_file():
            raise downloads.AcquisitionError(
                f"{downloads.MIRROR_ENV}={mirror}: no {spec.archive} there. Put the archive in that directory "
                "under its canonical name, or unset the variable to download it."
            )
        sums_file = mirror_dir / CHECKSUMS_FILE
        sums = downloads.parse_checksums(sums_file.read_text()) if sums_file.is_file() else {}
        return _Fetched(path, sums.get(spec.archive, spec.sha256), owned=False)
    path = downloads.download(spec.url, download_dir / spec.archive, progress)
    return _Fetched(path, spec.sha256, owned=True, url=spec.url)


def class_file_filter(spec: configs.DatasetSpec) -> Callable[[list], list | None]:
    """Keep `<root>/<train|test>/<class>/<file>` only, minus excluded folders.

    Drops what is not class data: IMDB's `unsup` folder, its bag-of-words
    `.feat` files and URL lists (they sit beside the class folders), READMEs.
    """
    root = [p for p in spec.root_in_archive.split("/") if p]
    splits = (corpus_layout.TRAIN_DIR, corpus_layout.TEST_DIR)  # the archives' split folders

    def keep(parts):
        if parts[: len(root)] != root:
            return None
        rest = parts[len(root) :]
        if len(rest) < 3 or rest[0] not in splits or rest[1] in spec.exclude_dirs:
            return None
        return rest

    return keep


def acquire(
    name: str,
    mirror: str | None = None,
    cache_dir: Path | None = None,
    progress: bool = True,
) -> Path:
    """Returns the root of the extracted corpus `name` (holding train/ and test/)."""
    if name not in configs.DATASETS:
        raise downloads.AcquisitionError(
            f"unknown dataset '{name}'; known: {', '.join(sorted(configs.DATASETS))}. "
            "For another corpus pass --data-dir PATH."
        )
    spec = configs.DATASETS[name]
    mirror = mirror if mirror is not None else os.environ.get(downloads.MIRROR_ENV) or None
    cache_dir = Path(cache_dir or configs.DEFAULT_DATA_CACHE).expanduser()
    target = cache_dir / name
    marker = target / _COMPLETE_MARKER
    if marker.is_file():
        return target

    cache_dir.mkdir(parents=True, exist_ok=True)
    fetched = _fetch_archive(spec, mirror, cache_dir / "downloads", progress)
    archive, owned = fetched.path, fetched.owned
    try:
        if fetched.url and fetched.expected is None:
            digest = downloads.verify_unpinned_download(archive, fetched.url, cache_dir / TRUSTED_FILE)
        else:
            digest = downloads.verify_checksum(archive, fetched.expected)
    except downloads.ChecksumError:
        if owned:
            archive.unlink(missing_ok=True)
        raise

    # Extract beside the target and rename: a crash never leaves a half corpus
    # that a later call would mistake for a complete one.
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=cache_dir))
    try:
        count = archives.safe_extract(archive, staging, class_file_filter(spec))
        if count == 0:
            raise downloads.AcquisitionError(
                f"{archive} holds no <split>/<class>/<file> documents under '{spec.root_in_archive}/'"
            )
        (staging / _COMPLETE_MARKER).write_text(json.dumps({"archive": spec.archive, "sha256": digest, "files": count}))
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    if owned:
        archive.unlink(missing_ok=True)  # the extracted corpus is the cache
    return target
