"""Fetch a file over HTTP(S) or file:// into place, and check it against a sha256 (datasets.py's transport).

A download goes through a `.partial` file, so a failure never leaves a file that looks complete; a checksum
mismatch names the file, both sums and what to do.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
import urllib.request
from pathlib import Path

MIRROR_ENV = "DATA_MIRROR"
CHUNK_BYTES = 1 << 20


class AcquisitionError(RuntimeError):
    """A corpus could not be obtained; the message says which file and what to do."""


class ChecksumError(AcquisitionError):
    pass


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
        for chunk in iter(lambda: f.read(CHUNK_BYTES), b""):
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
            for chunk in iter(lambda: response.read(CHUNK_BYTES), b""):
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


def read_url_text(url: str, timeout: float = 30.0) -> str:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.read().decode("utf-8")
    except (OSError, ValueError) as err:
        raise AcquisitionError(f"could not read {url}: {err}") from err


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


def verify_unpinned_download(path: Path, url: str, trusted_file: Path) -> str:
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
