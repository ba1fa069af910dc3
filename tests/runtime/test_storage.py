"""Storage of uploaded files: a local folder, and S3 spoken over HTTP to moto's standalone
server started as a process (tests/upload_servers.py), the objects' encryption read back from
the server."""

from __future__ import annotations

import io
import os
import stat
import uuid
from pathlib import Path
from typing import Any

import pytest

from runtime.settings import PROJECT_ROOT, Settings, from_environment
from runtime.storage import (
    FileNotStored,
    InvalidKey,
    LocalStorage,
    S3Storage,
    StorageUnavailable,
    check_key,
    file_key,
    put_file,
    storage_for,
    thumbnail_key,
)
from tests.upload_servers import S3Server, free_port, jpeg_bytes, upload_settings

ID = "0123456789abcdef0123456789abcdef"


def settings(**over: Any) -> Settings:
    return Settings(**({"environment": "test", "secret_key": "s" * 40} | over))


class Failing(io.RawIOBase):
    """A stream that breaks half way: the client went away, the quarantine disk failed."""

    def __init__(self) -> None:
        self.sent = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.sent >= 3 * 1024 * 1024:
            raise OSError("the stream broke")
        buffer[: len(buffer)] = b"x" * len(buffer)
        self.sent += len(buffer)
        return len(buffer)


# --- Keys ----------------------------------------------------------------------------------------


def test_keys() -> None:
    assert file_key(ID) == f"files/{ID}" and thumbnail_key(ID) == f"thumbnails/{ID}"
    assert check_key(f"files/{ID}") == f"files/{ID}"


@pytest.mark.parametrize(
    "key",
    [
        "../etc/passwd",
        "/etc/passwd",
        "files/../../etc/passwd",
        "files/..",
        "files//x",
        "files/",
        "files",
        "files\\x",
        "files/a b",
        "files/x\x00",
        "files/.hidden",
        "Files/x",
        "files/" + "a" * 200,
        "",
    ],
)
def test_a_key_that_is_not_ours_is_refused_everywhere(tmp_path: Path, key: str) -> None:
    storage = LocalStorage(tmp_path / "uploads")
    for call in (
        lambda: storage.put(key, io.BytesIO(b"x"), "text/plain"),
        lambda: storage.open(key),
        lambda: storage.delete(key),
        lambda: storage.exists(key),
    ):
        with pytest.raises(InvalidKey):
            call()
    assert not (tmp_path / "uploads").exists() or not any((tmp_path / "uploads").rglob("*"))
    assert not (tmp_path / "etc").exists()


@pytest.mark.parametrize("upload_id", ["../x", ID.upper(), ID[:-1], ID + "0", "g" * 32])
def test_an_upload_id_is_32_hex_characters(upload_id: str) -> None:
    with pytest.raises(InvalidKey):
        file_key(upload_id)
    with pytest.raises(InvalidKey):
        thumbnail_key(upload_id)


# --- A local folder ------------------------------------------------------------------------------


def test_local_storage_keeps_reads_and_deletes(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "uploads")
    photo = jpeg_bytes()
    storage.put(file_key(ID), io.BytesIO(photo), "image/jpeg")
    path = tmp_path / "uploads" / "files" / ID
    assert path.read_bytes() == photo
    assert storage.exists(file_key(ID)) and not storage.exists(thumbnail_key(ID))
    with storage.open(file_key(ID)) as stream:
        assert stream.read() == photo
    storage.delete(file_key(ID))
    assert not path.exists() and not storage.exists(file_key(ID))
    storage.delete(file_key(ID))  # again: nothing to do
    with pytest.raises(FileNotStored):
        storage.open(file_key(ID))


def test_local_files_are_for_the_apps_user_only(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        storage = LocalStorage(tmp_path / "uploads")
        storage.put(file_key(ID), io.BytesIO(b"passport"), "image/jpeg")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "uploads").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "uploads" / "files").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "uploads" / "files" / ID).stat().st_mode) == 0o600


def test_a_failed_write_leaves_nothing_and_keeps_the_old_file(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "uploads")
    with pytest.raises(StorageUnavailable, match="the stream broke"):
        storage.put(file_key(ID), io.BufferedReader(Failing()), "image/jpeg")
    assert list((tmp_path / "uploads" / "files").iterdir()) == []
    storage.put(file_key(ID), io.BytesIO(b"first"), "image/jpeg")
    with pytest.raises(StorageUnavailable):
        storage.put(file_key(ID), io.BufferedReader(Failing()), "image/jpeg")
    assert [p.name for p in (tmp_path / "uploads" / "files").iterdir()] == [ID]
    assert (tmp_path / "uploads" / "files" / ID).read_bytes() == b"first"


def test_a_symbolic_link_in_the_folder_is_not_followed(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("database password")
    storage = LocalStorage(tmp_path / "uploads")
    storage.put(file_key(ID), io.BytesIO(b"x"), "image/jpeg")
    other = "fedcba9876543210fedcba9876543210"
    (tmp_path / "uploads" / "files" / other).symlink_to(secret)
    with pytest.raises(FileNotStored):
        storage.open(file_key(other))


def test_the_folder_cannot_be_one_the_web_serves() -> None:
    with pytest.raises(ValueError, match="outside the web folders"):
        LocalStorage(PROJECT_ROOT / "runtime" / "web" / "static" / "uploads")
    with pytest.raises(ValueError, match="outside the web folders"):
        LocalStorage(PROJECT_ROOT / "builder" / "web")


def test_a_folder_that_cannot_be_written_is_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "uploads"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(StorageUnavailable):
        LocalStorage(blocker).put(file_key(ID), io.BytesIO(b"x"), "image/jpeg")


def test_storage_for_local_settings_and_put_file(tmp_path: Path) -> None:
    storage = storage_for(settings(**upload_settings(tmp_path)))
    assert isinstance(storage, LocalStorage) and storage.root == tmp_path / "uploads"
    source = tmp_path / "quarantined"
    source.write_bytes(b"%PDF-1.7 ...")
    put_file(storage, file_key(ID), source, "application/pdf")
    assert (tmp_path / "uploads" / "files" / ID).read_bytes() == b"%PDF-1.7 ..."


# --- S3 ------------------------------------------------------------------------------------------


def new_key() -> str:
    return file_key(uuid.uuid4().hex)


def s3(server: S3Server, **over: Any) -> S3Storage:
    storage = storage_for(settings(**server.settings(**over)))
    assert isinstance(storage, S3Storage)
    return storage


def test_s3_keeps_objects_encrypted_with_aes256(s3_endpoint: S3Server) -> None:
    storage = s3(s3_endpoint)
    key = new_key()
    photo = jpeg_bytes()
    storage.put(key, io.BytesIO(photo), "image/jpeg")
    head = s3_endpoint.client().head_object(Bucket=s3_endpoint.bucket, Key=key)
    assert head["ServerSideEncryption"] == "AES256"
    assert head["ContentType"] == "image/jpeg" and head["ContentLength"] == len(photo)
    assert storage.exists(key)
    with storage.open(key) as stream:
        assert stream.read(10) == photo[:10]
        assert stream.read() == photo[10:]
    storage.delete(key)
    assert not storage.exists(key)
    with pytest.raises(FileNotStored):
        storage.open(key)
    storage.delete(key)  # again: nothing to do


def test_an_object_put_without_the_storage_is_not_encrypted(s3_endpoint: S3Server) -> None:
    """What makes the test above mean something: this server encrypts only when asked."""
    key = new_key()
    s3_endpoint.client().put_object(Bucket=s3_endpoint.bucket, Key=key, Body=b"x")
    assert "ServerSideEncryption" not in s3_endpoint.client().head_object(Bucket=s3_endpoint.bucket, Key=key)


def test_s3_with_a_kms_key(s3_endpoint: S3Server) -> None:
    arn = "arn:aws:kms:eu-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    storage = s3(s3_endpoint, s3_sse="aws:kms", s3_kms_key_id=arn)
    key = new_key()
    storage.put(key, io.BytesIO(b"%PDF-1.7 tenancy"), "application/pdf")
    head = s3_endpoint.client().head_object(Bucket=s3_endpoint.bucket, Key=key)
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", arn)


def test_a_large_file_goes_in_parts_each_encrypted(s3_endpoint: S3Server, tmp_path: Path) -> None:
    source = tmp_path / "large.pdf"
    with source.open("wb") as f:
        for i in range(20):
            f.write(bytes([i]) * (1024 * 1024))
    storage = s3(s3_endpoint)
    key = new_key()
    put_file(storage, key, source, "application/pdf")
    head = s3_endpoint.client().head_object(Bucket=s3_endpoint.bucket, Key=key)
    assert head["ServerSideEncryption"] == "AES256" and head["ContentLength"] == 20 * 1024 * 1024
    assert "-" in head["ETag"]  # a multipart upload's ETag
    with storage.open(key) as stream:
        assert b"".join(iter(stream)) == source.read_bytes()


class IgnoresEncryption:
    """A service that takes the request for encryption and stores the object in the clear
    (some S3-compatible servers without a key configured do): the requests still go to the
    server over HTTP, only the encryption header is left out."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def upload_fileobj(self, source: Any, bucket: str, key: str, ExtraArgs: dict[str, Any], **kw: Any) -> None:  # noqa: N803
        extra = {k: v for k, v in ExtraArgs.items() if not k.startswith(("ServerSide", "SSE"))}
        self.client.upload_fileobj(source, bucket, key, ExtraArgs=extra, **kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


def test_an_object_the_service_did_not_encrypt_is_deleted_and_refused(s3_endpoint: S3Server) -> None:
    storage = S3Storage(s3_endpoint.bucket, client=IgnoresEncryption(s3_endpoint.client()))
    key = new_key()
    with pytest.raises(StorageUnavailable, match="did not encrypt"):
        storage.put(key, io.BytesIO(b"passport"), "image/jpeg")
    assert not storage.exists(key)


def test_a_bucket_that_does_not_exist_is_unavailable(s3_endpoint: S3Server) -> None:
    storage = s3(s3_endpoint, s3_bucket="no-such-bucket-here")
    with pytest.raises(StorageUnavailable):
        storage.put(new_key(), io.BytesIO(b"x"), "image/jpeg")
    with pytest.raises(StorageUnavailable, match="NoSuchBucket"):
        storage.open(new_key())


def test_s3_that_cannot_be_reached_is_unavailable() -> None:
    server = S3Server(endpoint_url=f"http://127.0.0.1:{free_port()}", bucket="uploads")
    storage = s3(server)
    for call in (
        lambda: storage.put(new_key(), io.BytesIO(b"x"), "image/jpeg"),
        lambda: storage.open(new_key()),
        lambda: storage.exists(new_key()),
        lambda: storage.delete(new_key()),
    ):
        with pytest.raises(StorageUnavailable):
            call()


def test_s3_refuses_keys_that_are_not_ours(s3_endpoint: S3Server) -> None:
    storage = s3(s3_endpoint)
    with pytest.raises(InvalidKey):
        storage.put("../x", io.BytesIO(b"x"), "image/jpeg")
    with pytest.raises(InvalidKey):
        storage.open("files/../../other-bucket/x")


def test_s3_from_the_environment(s3_endpoint: S3Server, tmp_path: Path) -> None:
    env = {
        "CIVICFORMS_ENV": "test",
        "CIVICFORMS_SECRET_KEY": "s" * 40,
        "CIVICFORMS_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
        "CIVICFORMS_UPLOAD_STORAGE": "s3",
        "CIVICFORMS_S3_BUCKET": s3_endpoint.bucket,
        "CIVICFORMS_S3_ENDPOINT_URL": s3_endpoint.endpoint_url,
        "CIVICFORMS_S3_REGION": s3_endpoint.region,
        "CIVICFORMS_S3_ACCESS_KEY_ID": s3_endpoint.access_key_id,
        "CIVICFORMS_S3_SECRET_ACCESS_KEY": s3_endpoint.secret_access_key,
    }
    storage = storage_for(from_environment(env))
    key = new_key()
    storage.put(key, io.BytesIO(b"x"), "image/png")
    assert s3_endpoint.client().head_object(Bucket=s3_endpoint.bucket, Key=key)["ServerSideEncryption"] == "AES256"


def test_files_stream_through_memory_a_part_at_a_time(s3_endpoint: S3Server, tmp_path: Path) -> None:
    """A 40MB file goes to the bucket 8MB at a time and comes back a chunk at a time, and to the
    folder 1MB at a time: the memory a worker needs does not grow with the file."""
    import tracemalloc

    source = tmp_path / "large"
    with source.open("wb") as f:
        for _ in range(40):
            f.write(os.urandom(1024 * 1024))
    bucket, folder = s3(s3_endpoint), LocalStorage(tmp_path / "uploads")
    put_file(bucket, new_key(), source, "application/pdf")  # boto3's modules loaded before measuring

    def peak(work: Any) -> int:
        tracemalloc.start()
        try:
            work()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    key = new_key()
    assert peak(lambda: put_file(bucket, key, source, "application/pdf")) < 20_000_000

    def read_all() -> None:
        with bucket.open(key) as stream:
            while stream.read(1024 * 1024):
                pass

    assert peak(read_all) < 5_000_000
    assert peak(lambda: put_file(folder, key, source, "application/pdf")) < 5_000_000
