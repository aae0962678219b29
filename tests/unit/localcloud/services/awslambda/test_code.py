"""Function code on disk: the checks CreateFunction makes, unpacking once per SHA-256, layers
and the SDK folder a function sees."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import zipfile
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from mysfits_lab.localcloud.edge import ServiceError
from mysfits_lab.localcloud.services.awslambda import code as code_module
from mysfits_lab.localcloud.services.awslambda.code import (
    CodeStore,
    inline_source,
    layer_paths,
    s3_source,
    sdk_dir,
)


def _zip(files: dict[str, bytes], modes: dict[str, int] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (modes or {}).get(name, 0o100600) << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def test_a_file_that_is_not_a_zip_is_refused_with_aws_s_message():
    with pytest.raises(ServiceError) as raised:
        inline_source(b"print('hello')")
    assert raised.value.code == "InvalidParameterValueException"
    assert raised.value.message == (
        "Could not unzip uploaded file. Please check your file, then try to upload again."
    )


def test_code_that_unzips_too_large_is_refused(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(code_module, "UNZIPPED_LIMIT", 1000)
    with pytest.raises(ServiceError, match="Unzipped size must be smaller than 1000 bytes"):
        inline_source(_zip({"big.bin": b"\0" * 2000}))


def test_code_is_unpacked_once_per_sha256(tmp_path: Path):
    data = _zip({"app.py": b"x = 1\n", "pkg/mod.py": b"y = 2\n"})
    source = inline_source(data)
    assert source.sha256 == hashlib.sha256(data).hexdigest()
    store = CodeStore(tmp_path)
    folder = store.unpack(source)
    assert folder == tmp_path / "code" / source.sha256
    assert (folder / "pkg" / "mod.py").read_text() == "y = 2\n"
    (folder / "marker").write_text("kept")
    assert store.unpack(inline_source(data)) == folder
    assert (folder / "marker").exists()  # not unpacked again
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".unpacking")]


def test_unpacked_files_are_readable_and_stay_inside_their_folder(tmp_path: Path):
    data = _zip({"../escape.py": b"bad", "/abs.py": b"bad", "app.py": b"ok"}, {"app.py": 0o100200})
    folder = CodeStore(tmp_path).unpack(inline_source(data))
    assert not (tmp_path / "code" / "escape.py").exists()
    assert sorted(p.name for p in folder.iterdir()) == ["abs.py", "app.py", "escape.py"]
    assert os.stat(folder / "app.py").st_mode & stat.S_IRUSR


def test_layers_are_found_by_their_version_arn(tmp_path: Path):
    store = CodeStore(tmp_path)
    arn = "arn:aws:lambda:us-east-1:123456789012:layer:deps:1"
    folder = store.add_layer(arn, inline_source(_zip({"python/dep.py": b"V = 1\n"})))
    assert folder.parent == tmp_path / "layers"
    assert store.layer_dirs([arn, "arn:aws:lambda:us-east-1:123456789012:layer:other:1"]) == (
        folder,
    )
    assert layer_paths(folder, "python3.11") == [
        str(folder / "python" / "lib" / "python3.11" / "site-packages"),
        str(folder / "python"),
    ]


def test_the_sdk_folder_holds_boto3_and_what_it_needs_only(tmp_path: Path):
    folder = sdk_dir(tmp_path)
    names = {p.name for p in folder.iterdir()}
    assert {"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3"} <= names
    assert "numpy" not in names and "moto" not in names
    assert sdk_dir(tmp_path) == folder


class FakeS3:
    def __init__(self, objects: dict[str, bytes]):
        self.objects = objects

    def get_object(self, Bucket: str, Key: str, **_: str) -> dict:  # noqa: N803 - boto3's names
        if Key not in self.objects:
            error = {"Error": {"Code": "NoSuchKey", "Message": "The specified key does not exist."}}
            raise ClientError(error, "GetObject")
        return {"Body": io.BytesIO(self.objects[Key])}


def test_code_from_s3_is_streamed_and_checked(tmp_path: Path):
    data = _zip({"app.py": b"x = 1\n"})
    source = s3_source(FakeS3({"app.zip": data}), {"S3Bucket": "b", "S3Key": "app.zip"}, tmp_path)
    assert source.sha256 == hashlib.sha256(data).hexdigest() and source.size == len(data)
    assert source.path is not None and source.path.read_bytes() == data
    source.discard()
    assert not source.path.exists()

    with pytest.raises(ServiceError) as raised:
        s3_source(FakeS3({}), {"S3Bucket": "b", "S3Key": "gone.zip"}, tmp_path)
    assert raised.value.message == (
        "Error occurred while GetObject. S3 Error Code: NoSuchKey. S3 Error Message: The "
        "specified key does not exist."
    )
    with pytest.raises(ServiceError, match="Could not unzip"):
        s3_source(FakeS3({"bad": b"text"}), {"S3Bucket": "b", "S3Key": "bad"}, tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing left behind
