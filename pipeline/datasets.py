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
`ROOT/<split>/<class>/<file>` layout works with `run_local.py --data-dir`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import posixpath
import shutil
import sys
import tarfile
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

from components.example_gen import corpus_layout
from pipeline import configs

MIRROR_ENV = "DATA_MIRROR"
CHECKSUMS_FILE = "SHA256SUMS"
# sha256 of canonical downloads that upstream publishes no checksum for, as
# seen the first time (sha256sum format, keyed by URL).
TRUSTED_FILE = "SHA256SUMS.trusted"
_COMPLETE_MARKER = ".complete.json"
_CHUNK = 1 << 20


class AcquisitionError(RuntimeError):
    """A corpus could not be obtained; the message says which file and what to do."""


class ChecksumError(AcquisitionError):
    pass


class UnsafeArchiveError(AcquisitionError):
    pass


def _is_url(location: str) -> bool:
    return urllib.parse.urlparse(location).scheme in ("http", "https", "file")


def parse_checksums(text: str) -> dict[str, str]:
    """Parse `sha256sum` output ("<hex>  <name>" or "<hex> *<name>") into {name: hex}."""
    sums = {}
    for line in text.splitlines():
        parts = line.strip().split(None, 1)
        if len(parts) == 2:
            sums[parts[1].lstrip("*").strip()] = parts[0].lower()
    return sums


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


class _Progress:
    """A one-line progress bar on stderr, redrawn at most ten times a second."""

    def __init__(self, label: str, total: int | None, stream=None):
        self.label, self.total, self.done = label, total, 0
        self.stream = stream or sys.stderr
        self._last = 0.0

    def update(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if now - self._last >= 0.1 or (self.total and self.done >= self.total):
            self._last = now
            self._draw()

    def _draw(self) -> None:
        mib = self.done / 2**20
        if self.total:
            pct = 100.0 * self.done / self.total
            bar = "#" * int(pct // 5)
            text = f"\r{self.label} [{bar:<20}] {mib:7.1f}/{self.total / 2**20:.1f} MiB {pct:5.1f}%"
        else:
            text = f"\r{self.label} {mib:7.1f} MiB"
        self.stream.write(text)
        self.stream.flush()

    def close(self) -> None:
        self._draw()
        self.stream.write("\n")
        self.stream.flush()


def download(url: str, dest: Path, progress: bool = True, timeout: float = 60.0) -> Path:
    """Download `url` to `dest` through a temporary file (never leaves a partial `dest`)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as out:
            length = response.headers.get("Content-Length")
            bar = _Progress(dest.name, int(length) if length else None) if progress else None
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                out.write(chunk)
                if bar:
                    bar.update(len(chunk))
            if bar:
                bar.close()
    except (OSError, ValueError) as err:  # URLError and HTTPError are OSErrors
        partial.unlink(missing_ok=True)
        raise AcquisitionError(
            f"could not download {url}: {err}. Check the network, or set {MIRROR_ENV} to a "
            "directory holding the archive, or pass --data-dir with an extracted corpus."
        ) from err
    os.replace(partial, dest)
    return dest


def _read_url_text(url: str, timeout: float = 30.0) -> str:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.read().decode("utf-8")
    except (OSError, ValueError) as err:
        raise AcquisitionError(f"could not read {url}: {err}") from err


@dataclasses.dataclass(frozen=True)
class _Fetched:
    path: Path
    expected: str | None  # sha256 to check against; None: nobody vouches for this file
    owned: bool  # ours to delete (a download), not a mirror's file
    url: str | None = None  # set for a download from the dataset's canonical URL


def _fetch_archive(spec: configs.DatasetSpec, mirror: str | None, downloads: Path, progress: bool) -> _Fetched:
    if mirror:
        if _is_url(mirror):
            prefix = mirror.rstrip("/") + "/"
            sums = parse_checksums(_read_url_text(prefix + CHECKSUMS_FILE))
            path = download(prefix + spec.archive, downloads / spec.archive, progress)
            return _Fetched(path, sums.get(spec.archive, spec.sha256), owned=True)
        mirror_dir = Path(mirror).expanduser()
        path = mirror_dir / spec.archive
        if not path.is_file():
            raise AcquisitionError(
                f"{MIRROR_ENV}={mirror}: no {spec.archive} there. Put the archive in that directory "
                "under its canonical name, or unset the variable to download it."
            )
        sums_file = mirror_dir / CHECKSUMS_FILE
        sums = parse_checksums(sums_file.read_text()) if sums_file.is_file() else {}
        return _Fetched(path, sums.get(spec.archive, spec.sha256), owned=False)
    path = download(spec.url, downloads / spec.archive, progress)
    return _Fetched(path, spec.sha256, owned=True, url=spec.url)


def verify_checksum(path: Path, expected: str | None) -> str:
    actual = sha256_of(path)
    if expected is None:
        print(f"warning: no published checksum for {path.name}; sha256 is {actual}", file=sys.stderr)
    elif actual != expected.lower():
        raise ChecksumError(
            f"checksum mismatch for {path}: expected sha256 {expected}, got {actual}. "
            "The file is corrupt or not the expected archive; delete it and fetch it again."
        )
    return actual


def _verify_unpinned_download(path: Path, url: str, trusted_file: Path) -> str:
    """Trust on first use for a canonical URL that publishes no checksum.

    The first download's sha256 is recorded in `trusted_file` (with a warning,
    since nothing vouches for it); a later download must match the record.
    """
    actual = sha256_of(path)
    trusted = parse_checksums(trusted_file.read_text()) if trusted_file.is_file() else {}
    recorded = trusted.get(url)
    if recorded is None:
        print(
            f"warning: {url} publishes no checksum; trusting this download (sha256 {actual}) and "
            f"recording it in {trusted_file}: a later download must match it.",
            file=sys.stderr,
        )
        with open(trusted_file, "a", encoding="utf-8") as f:
            f.write(f"{actual}  {url}\n")
    elif actual != recorded:
        raise ChecksumError(
            f"checksum mismatch for {url}: this download has sha256 {actual}, but the first download "
            f"from that URL had {recorded} (recorded in {trusted_file}). Upstream replaced the file, or "
            "this download is corrupt or tampered with. To accept the new file, delete the line naming "
            f"that URL from {trusted_file} and run again."
        )
    return actual


def _member_parts(name: str):
    """Normalised path parts of a tar member, or None if it could land outside the target."""
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return None
    parts = [p for p in posixpath.normpath(name).split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        return None
    return parts


def safe_extract(
    archive: Path,
    target: Path,
    keep: Callable[[list], list | None] = lambda parts: parts,
) -> int:
    """Extract regular files of `archive` into `target`; returns how many were written.

    Every member is checked before anything is written: an absolute path, a
    `..` component, a link or a device node rejects the whole archive (such a
    member is a sign of a damaged or hostile archive, not of a corpus).
    `keep(parts)` maps a member's path parts to the parts to write under
    `target`, or None to leave the member out.
    """
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for m in members:
                if _member_parts(m.name) is None:
                    raise UnsafeArchiveError(
                        f"{archive}: member '{m.name}' would land outside the target; archive rejected"
                    )
                if m.issym() or m.islnk():
                    raise UnsafeArchiveError(f"{archive}: member '{m.name}' is a link; archive rejected")
                if not (m.isfile() or m.isdir()):
                    raise UnsafeArchiveError(f"{archive}: member '{m.name}' is not a file or folder; archive rejected")
            written = 0
            for m in members:
                if not m.isfile():
                    continue
                out_parts = keep(_member_parts(m.name))
                if not out_parts:
                    continue
                dest = target.joinpath(*out_parts)
                dest.parent.mkdir(parents=True, exist_ok=True)
                with tar.extractfile(m) as src, open(dest, "wb") as out:
                    shutil.copyfileobj(src, out, _CHUNK)
                written += 1
            return written
    except tarfile.TarError as err:
        raise AcquisitionError(f"{archive} is not a readable tar archive: {err}") from err


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
        raise AcquisitionError(
            f"unknown dataset '{name}'; known: {', '.join(sorted(configs.DATASETS))}. "
            "For another corpus pass --data-dir PATH."
        )
    spec = configs.DATASETS[name]
    mirror = mirror if mirror is not None else os.environ.get(MIRROR_ENV) or None
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
            digest = _verify_unpinned_download(archive, fetched.url, cache_dir / TRUSTED_FILE)
        else:
            digest = verify_checksum(archive, fetched.expected)
    except ChecksumError:
        if owned:
            archive.unlink(missing_ok=True)
        raise

    # Extract beside the target and rename: a crash never leaves a half corpus
    # that a later call would mistake for a complete one.
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=cache_dir))
    try:
        count = safe_extract(archive, staging, class_file_filter(spec))
        if count == 0:
            raise AcquisitionError(
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
