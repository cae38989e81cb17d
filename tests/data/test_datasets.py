"""Dataset acquisition: mirror, HTTP download, checksums, safe extraction, cache."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import http.server
import io
import shutil
import tarfile
import threading
from pathlib import Path

import pytest

from pipeline import configs
from pipeline.corpora import archives, datasets, downloads


def _add_file(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def build_archive(path: Path, extra=None) -> Path:
    """An IMDB-shaped archive: class files, plus what the pipeline must not keep."""
    with tarfile.open(path, "w:gz") as tar:
        for split in ("train", "test"):
            for cls in ("neg", "pos"):
                for i in range(3):
                    _add_file(tar, f"toy/{split}/{cls}/{i}_5.txt", f"{split} {cls} doc {i}".encode())
        _add_file(tar, "toy/train/unsup/0_0.txt", b"unlabelled")
        _add_file(tar, "toy/train/labeledBow.feat", b"0:1 1:2")
        _add_file(tar, "toy/README", b"readme")
        for name, data in (extra or {}).items():
            _add_file(tar, name, data)
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """Registers a dataset 'toy' whose archive sits in a mirror folder with SHA256SUMS."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    archive = build_archive(mirror / "toy.tar.gz")
    (mirror / "SHA256SUMS").write_text(f"{sha256(archive)}  toy.tar.gz\n")
    spec = configs.DatasetSpec(
        name="toy",
        archive="toy.tar.gz",
        url="http://127.0.0.1:9/unreachable/toy.tar.gz",
        sha256=None,
        root_in_archive="toy",
        exclude_dirs=("unsup",),
    )
    monkeypatch.setitem(configs.DATASETS, "toy", spec)
    monkeypatch.delenv(downloads.MIRROR_ENV, raising=False)
    return mirror


def _files(root: Path):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))


def test_offline_mirror_directory_extracts_class_files_only(toy, tmp_path):
    root = datasets.acquire("toy", mirror=str(toy), cache_dir=tmp_path / "cache", progress=False)
    files = _files(root)
    assert len(files) == 12
    assert all(f.split("/")[0] in ("train", "test") and f.split("/")[1] in ("neg", "pos") for f in files)
    assert (root / "train" / "pos" / "1_5.txt").read_text() == "train pos doc 1"


def test_mirror_from_environment_variable(toy, tmp_path, monkeypatch):
    monkeypatch.setenv(downloads.MIRROR_ENV, str(toy))
    root = datasets.acquire("toy", cache_dir=tmp_path / "cache", progress=False)
    assert len(_files(root)) == 12


def test_second_call_uses_cache_without_the_source(toy, tmp_path):
    cache = tmp_path / "cache"
    first = datasets.acquire("toy", mirror=str(toy), cache_dir=cache, progress=False)
    (toy / "toy.tar.gz").unlink()  # the source is gone: only the cache can answer
    second = datasets.acquire("toy", mirror=str(toy), cache_dir=cache, progress=False)
    assert first == second and len(_files(second)) == 12


def test_checksum_mismatch_is_rejected_and_nothing_is_cached(toy, tmp_path):
    (toy / "SHA256SUMS").write_text("0" * 64 + "  toy.tar.gz\n")
    cache = tmp_path / "cache"
    with pytest.raises(downloads.ChecksumError, match="checksum mismatch.*toy.tar.gz"):
        datasets.acquire("toy", mirror=str(toy), cache_dir=cache, progress=False)
    assert not (cache / "toy").exists()


@pytest.mark.parametrize(
    "member, message",
    [
        ("toy/train/pos/../../../../escape.txt", "outside the target"),
        ("/etc/evil.txt", "outside the target"),
    ],
)
def test_archive_with_escaping_member_is_rejected(toy, tmp_path, member, message):
    archive = build_archive(toy / "toy.tar.gz", extra={member: b"gotcha"})
    (toy / "SHA256SUMS").write_text(f"{sha256(archive)}  toy.tar.gz\n")
    cache = tmp_path / "cache"
    with pytest.raises(archives.UnsafeArchiveError, match=message):
        datasets.acquire("toy", mirror=str(toy), cache_dir=cache, progress=False)
    assert not (tmp_path / "escape.txt").exists()
    assert not (cache / "toy").exists()


def test_archive_with_link_member_is_rejected(tmp_path):
    archive = tmp_path / "links.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        _add_file(tar, "toy/train/pos/0.txt", b"fine")
        link = tarfile.TarInfo("toy/train/pos/1.txt")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    with pytest.raises(archives.UnsafeArchiveError, match="is a link"):
        archives.safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_missing_archive_in_mirror_names_file_and_variable(toy, tmp_path):
    (toy / "toy.tar.gz").unlink()
    with pytest.raises(downloads.AcquisitionError, match=r"DATA_MIRROR=.*no toy.tar.gz there"):
        datasets.acquire("toy", mirror=str(toy), cache_dir=tmp_path / "cache", progress=False)


def test_unknown_dataset_lists_known_ones(tmp_path):
    with pytest.raises(downloads.AcquisitionError, match="unknown dataset 'nope'.*imdb.*--data-dir"):
        datasets.acquire("nope", cache_dir=tmp_path)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    requests = []

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802 - http.server's naming
        _QuietHandler.requests.append(self.path)
        super().do_GET()


@contextlib.contextmanager
def _serve_directory(directory: Path):
    """An HTTP server on 127.0.0.1 serving `directory`; yields its URL prefix."""
    _QuietHandler.requests = []
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def http_mirror(toy):
    with _serve_directory(toy) as url:
        yield url


def test_download_over_http_with_progress(http_mirror, tmp_path, capsys):
    root = datasets.acquire("toy", mirror=http_mirror, cache_dir=tmp_path / "cache", progress=True)
    assert len(_files(root)) == 12
    assert _QuietHandler.requests == ["/SHA256SUMS", "/toy.tar.gz"]
    err = capsys.readouterr().err
    assert "toy.tar.gz" in err and "100.0%" in err  # the progress bar reached the end
    assert not list((tmp_path / "cache" / "downloads").glob("*.partial"))


def test_download_with_wrong_checksum_is_deleted(http_mirror, toy, tmp_path):
    (toy / "SHA256SUMS").write_text("f" * 64 + "  toy.tar.gz\n")
    with pytest.raises(downloads.ChecksumError):
        datasets.acquire("toy", mirror=http_mirror, cache_dir=tmp_path / "cache", progress=False)
    assert not list((tmp_path / "cache" / "downloads").iterdir())


def test_unreachable_host_gives_a_clear_error(toy, tmp_path):
    with pytest.raises(downloads.AcquisitionError, match="could not read http://127.0.0.1:9/"):
        datasets.acquire("toy", mirror="http://127.0.0.1:9/", cache_dir=tmp_path / "cache", progress=False)


def test_registry_pins_the_real_corpora():
    assert configs.DATASETS["imdb"].archive == "aclImdb_v1.tar.gz"
    assert configs.DATASETS["imdb"].exclude_dirs == ("unsup",)
    assert configs.DATASETS["stackoverflow"].archive == "stack_overflow_16k.tar.gz"
    for spec in configs.DATASETS.values():
        assert configs.schema_path(spec.schema).is_file()


# --- Canonical URLs: the archives as upstream ships them -------------------------------------------


def _build(path: Path, files) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            _add_file(tar, name, data)
    return path


def stackoverflow_shaped(path: Path, variant: str = "") -> Path:
    """The TensorFlow bucket's layout: train/ and test/ with four tag folders, README.md at the root."""
    files = {"README.md": b"Stack Overflow questions " + variant.encode()}
    for split in ("train", "test"):
        for tag in configs.DATASETS["stackoverflow"].class_names:
            for i in range(2):
                files[f"{split}/{tag}/{i}.txt"] = f"how do I {tag} {split} {i} {variant}".encode()
    return _build(path, files)


def imdb_stanford_shaped(path: Path) -> Path:
    """Stanford's aclImdb_v1 layout: class folders plus unsup/, bag-of-words, URL lists, vocabulary."""
    files = {"aclImdb/README": b"readme", "aclImdb/imdb.vocab": b"the\nand\n", "aclImdb/imdbEr.txt": b"0.1\n"}
    for split in ("train", "test"):
        for cls in ("neg", "pos"):
            for i in range(2):
                files[f"aclImdb/{split}/{cls}/{i}_{2 if cls == 'neg' else 9}.txt"] = f"{split} {cls} {i}".encode()
            files[f"aclImdb/{split}/urls_{cls}.txt"] = b"http://www.imdb.com/title/tt0000000/usercomments\n"
        files[f"aclImdb/{split}/labeledBow.feat"] = b"9 0:1 1:2\n"
    files.update(
        {
            "aclImdb/train/unsup/0_0.txt": b"unlabelled",
            "aclImdb/train/unsupBow.feat": b"0 0:1\n",
            "aclImdb/train/urls_unsup.txt": b"http://www.imdb.com/title/tt0000001/usercomments\n",
        }
    )
    return _build(path, files)


def _at_local_url(monkeypatch, name: str, url_prefix: str, **changes) -> configs.DatasetSpec:
    """The registry's spec for `name`, downloaded from `url_prefix` instead of its canonical host."""
    spec = configs.DATASETS[name]
    spec = dataclasses.replace(spec, url=url_prefix + spec.archive, **changes)
    monkeypatch.setitem(configs.DATASETS, name, spec)
    monkeypatch.delenv(downloads.MIRROR_ENV, raising=False)
    return spec


def test_stackoverflow_pins_no_checksum():
    # Upstream publishes none; a mirror's repack pinned here would fail every real download.
    assert configs.DATASETS["stackoverflow"].sha256 is None


def test_unpinned_download_is_trusted_on_first_use_then_held_to_it(tmp_path, monkeypatch, capsys):
    served = tmp_path / "upstream"
    served.mkdir()
    first = sha256(stackoverflow_shaped(served / "stack_overflow_16k.tar.gz"))
    cache = tmp_path / "cache"
    with _serve_directory(served) as prefix:
        spec = _at_local_url(monkeypatch, "stackoverflow", prefix)
        root = datasets.acquire("stackoverflow", cache_dir=cache, progress=False)
        assert _QuietHandler.requests == ["/stack_overflow_16k.tar.gz"]  # no mirror, no SHA256SUMS asked for
        err = capsys.readouterr().err
        assert "publishes no checksum" in err and first in err
        files = _files(root)
        assert len(files) == 16 and "README.md" not in files
        assert {f.split("/")[1] for f in files} == set(spec.class_names)
        trusted = cache / datasets.TRUSTED_FILE
        assert downloads.parse_checksums(trusted.read_text()) == {spec.url: first}

        # The same file again (the corpus cache is gone): accepted quietly against the record.
        shutil.rmtree(root)
        datasets.acquire("stackoverflow", cache_dir=cache, progress=False)
        assert "publishes no checksum" not in capsys.readouterr().err

        # Upstream now serves another file: refused, nothing cached, the record unchanged.
        shutil.rmtree(root)
        other = sha256(stackoverflow_shaped(served / "stack_overflow_16k.tar.gz", variant="v2"))
        with pytest.raises(downloads.ChecksumError) as refused:
            datasets.acquire("stackoverflow", cache_dir=cache, progress=False)
        message = str(refused.value)
        assert other in message and first in message and str(trusted) in message
        assert "To accept the new file, delete the line naming that URL" in message
        assert not root.exists() and not list((cache / "downloads").iterdir())
        assert downloads.parse_checksums(trusted.read_text()) == {spec.url: first}

        # Accepting it as the message says: delete the line, run again.
        trusted.write_text("")
        datasets.acquire("stackoverflow", cache_dir=cache, progress=False)
        assert downloads.parse_checksums(trusted.read_text()) == {spec.url: other}


def test_pinned_download_with_stanford_layout(tmp_path, monkeypatch):
    served = tmp_path / "upstream"
    served.mkdir()
    archive = imdb_stanford_shaped(served / "aclImdb_v1.tar.gz")
    cache = tmp_path / "cache"
    with _serve_directory(served) as prefix:
        # The registry's pinned sha256 is the real Stanford archive's, not this one's: refused.
        _at_local_url(monkeypatch, "imdb", prefix)
        with pytest.raises(downloads.ChecksumError, match="checksum mismatch.*aclImdb_v1.tar.gz"):
            datasets.acquire("imdb", cache_dir=cache, progress=False)
        assert not (cache / "imdb").exists() and not (cache / datasets.TRUSTED_FILE).exists()

        _at_local_url(monkeypatch, "imdb", prefix, sha256=sha256(archive))
        root = datasets.acquire("imdb", cache_dir=cache, progress=False)
    files = _files(root)
    assert len(files) == 8
    assert {tuple(f.split("/")[:2]) for f in files} == {(s, c) for s in ("train", "test") for c in ("neg", "pos")}
    assert (root / "test" / "pos" / "1_9.txt").read_text() == "test pos 1"
