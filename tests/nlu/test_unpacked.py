"""A model archive is unpacked once beside it (bot/nlu/unpacked.py): a later load reads the
same folder, a rewritten archive gets a new one (the old is removed), nothing in it can be
changed, and a folder that cannot be written means unpacking as before (None)."""
from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from bot.nlu.unpacked import UNPACKED_DIR, unpack, unpacked_folder


def archive(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_an_archive_is_unpacked_once_and_read_only(tmp_path: Path) -> None:
    model = archive(tmp_path / "nlu-abc.tar.gz", {"metadata.json": b"{}", "components/train_X/w.bin": b"123"})
    folder = unpack(model)
    assert folder == unpacked_folder(model) and folder.parent == tmp_path / UNPACKED_DIR
    assert (folder / "components/train_X/w.bin").read_bytes() == b"123"
    assert not os.access(folder / "components/train_X/w.bin", os.W_OK) or os.geteuid() == 0
    assert not (folder / "components/train_X/w.bin").stat().st_mode & 0o222
    marker = folder / "metadata.json"
    mtime = marker.stat().st_mtime_ns
    assert unpack(model) == folder and marker.stat().st_mtime_ns == mtime     # not unpacked again


@pytest.mark.parametrize("archive_mode, folders, files", [(0o644, 0o755, 0o444), (0o640, 0o750, 0o440)],
                         ids=["world-readable", "group-only"])
def test_whoever_may_read_the_archive_may_read_its_unpacked_folder(tmp_path: Path, archive_mode: int,
                                                                     folders: int, files: int) -> None:
    """The release's owner unpacks (`make test` as root); the NLU service's and the shops' users,
    whose view of the release is read-only, read the folder (mkdtemp alone would leave it 0700)."""
    model = archive(tmp_path / "nlu-abc.tar.gz", {"metadata.json": b"{}", "components/train_X/w.bin": b"123"})
    model.chmod(archive_mode)
    folder = unpack(model)
    assert folder is not None
    modes = {path.relative_to(folder).as_posix(): stat.S_IMODE(path.stat().st_mode)
             for path in [folder, *folder.rglob("*")]}
    assert modes == {".": folders, "components": folders, "components/train_X": folders,
                     "metadata.json": files, "components/train_X/w.bin": files}


def test_a_folder_unpacked_closed_by_an_older_version_is_opened_on_its_owners_next_load(tmp_path: Path) -> None:
    model = archive(tmp_path / "nlu-abc.tar.gz", {"metadata.json": b"{}", "components/train_X/w.bin": b"123"})
    model.chmod(0o644)
    folder = unpack(model)
    assert folder is not None
    folder.chmod(0o700)                                   # as mkdtemp left it before
    assert unpack(model) == folder
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    assert stat.S_IMODE((folder / "components/train_X/w.bin").stat().st_mode) == 0o444


def test_a_rewritten_archive_gets_a_new_folder_and_the_old_goes(tmp_path: Path) -> None:
    model = archive(tmp_path / "nlu-abc.tar.gz", {"metadata.json": b"{}"})
    old = unpack(model)
    archive(model, {"metadata.json": b'{"retrained": true}'})
    os.utime(model, ns=(model.stat().st_atime_ns, model.stat().st_mtime_ns + 1_000_000))
    new = unpack(model)
    assert new != old and (new / "metadata.json").read_bytes() == b'{"retrained": true}'
    assert old is not None and not old.exists()


def test_an_unwritable_models_folder_means_no_unpacked_copy(tmp_path: Path) -> None:
    model = archive(tmp_path / "nlu-abc.tar.gz", {"metadata.json": b"{}"})
    (tmp_path / UNPACKED_DIR).write_text("a file where the folder would be")
    assert unpack(model) is None


def test_a_broken_archive_is_not_left_half_unpacked(tmp_path: Path) -> None:
    model = tmp_path / "nlu-abc.tar.gz"
    model.write_bytes(b"not a tar.gz")
    with pytest.raises(tarfile.TarError):
        unpack(model)
    assert [p for p in (tmp_path / UNPACKED_DIR).iterdir()] == []


@pytest.mark.nlu
def test_the_loaded_model_reads_its_unpacked_folder(rasa_parser, nlu_settings) -> None:
    """RasaParser.load goes through the unpacked folder (a silent fall back to Rasa's plain
    load would still read the same, only slower)."""
    from bot.nlu.rasa_nlu import _components, model_path

    folder = unpacked_folder(model_path(nlu_settings))
    assert folder.is_dir()
    storages = {getattr(getattr(component, "_model_storage", None), "_storage_path", None)
                for component in _components(rasa_parser.model)} - {None}
    assert storages == {folder / "components"}
