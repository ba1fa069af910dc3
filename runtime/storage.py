"""Where uploaded files are kept, behind one interface (docs/uploads.md).

Owned by part A of issue 18. Contract: ``Storage`` with ``put(key, source, content_type)``,
``open(key) -> BinaryIO`` (streamed), ``delete(key)``, ``exists(key)``; ``LocalStorage`` (a
folder outside the web root) and ``S3Storage`` (boto3, server-side encryption); and
``storage_for(settings) -> Storage``.

Keys are ``files/<upload id>`` and ``thumbnails/<upload id>`` (``file_key``, ``thumbnail_key``);
any key is checked (``check_key``) before it touches a path or a bucket. A missing file is
``FileNotStored``; storage that cannot be reached or refuses is ``StorageUnavailable``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, Protocol, cast

from .settings import PROJECT_ROOT, Settings


class FileNotStored(LookupError):
    """No file is stored under the key."""


class StorageUnavailable(Exception):
    """The storage could not be reached, or refused (the file is not stored)."""


class InvalidKey(ValueError):
    """A key that is not one of ours: never used as a path or an object's name."""


_KEY = re.compile(r"[a-z][a-z0-9_-]{0,30}(/[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}){1,3}")
_UPLOAD_ID = re.compile(r"[0-9a-f]{32}")


def check_key(key: str) -> str:
    """The key, if it is a relative path of plain segments ("files/0a1b..."): no "..", no
    leading "/", no backslash, no empty segment, nothing but letters, digits, ".", "_" and "-",
    at most 200 characters."""
    if not isinstance(key, str) or len(key) > 200 or not _KEY.fullmatch(key) or ".." in key:
        raise InvalidKey(f"not a storage key: {key!r}")
    return key


def file_key(upload_id: str) -> str:
    """Where an upload's bytes are kept."""
    if not _UPLOAD_ID.fullmatch(upload_id):
        raise InvalidKey(f"not an upload id: {upload_id!r}")
    return f"files/{upload_id}"


def thumbnail_key(upload_id: str) -> str:
    """Where an image upload's thumbnail (PNG) is kept."""
    if not _UPLOAD_ID.fullmatch(upload_id):
        raise InvalidKey(f"not an upload id: {upload_id!r}")
    return f"thumbnails/{upload_id}"


class Storage(Protocol):
    def put(self, key: str, source: BinaryIO, content_type: str) -> None:
        """Stores the stream (read to its end) under the key, replacing what was there; on any
        failure nothing is stored under the key (or the old file stays)."""

    def open(self, key: str) -> BinaryIO:
        """The stored file, to read as a stream (close it, or use it in a with statement).
        Raises FileNotStored."""

    def delete(self, key: str) -> None:
        """Removes the file; nothing happens if there is none."""

    def exists(self, key: str) -> bool: ...


def put_file(storage: Storage, key: str, path: Path | str, content_type: str) -> None:
    """Stores the file at ``path`` (e.g. from quarantine) under the key."""
    with open(path, "rb") as source:
        storage.put(key, source, content_type)


# --- A local folder -----------------------------------------------------------------------------

_SERVED = (PROJECT_ROOT / "runtime" / "web", PROJECT_ROOT / "builder" / "web")


class LocalStorage:
    """Files in a folder (``CIVICFORMS_UPLOAD_DIR``) that no web server serves: the app reads
    them and sends them to staff with its own permission checks. Folders are made 0700 and files
    0600 (the app's user only); a file is written to a temporary name and renamed into place,
    so a reader never sees half of one and a crash leaves none. The content type is not kept:
    the upload's row holds it."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).absolute()
        for served in _SERVED:
            if self.root == served or served in self.root.parents:
                raise ValueError(f"CIVICFORMS_UPLOAD_DIR must be outside the web folders ({served})")

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))

    def _folder(self, folder: Path) -> None:
        """Makes the folder and those above it up to the root, each 0700."""
        missing = []
        at = folder
        while not at.exists():
            missing.append(at)
            if at == self.root or at.parent == at:
                break
            at = at.parent
        for path in reversed(missing):
            with contextlib.suppress(FileExistsError):
                path.mkdir(mode=0o700)
            os.chmod(path, 0o700)  # mkdir's mode is masked by the umask

    def put(self, key: str, source: BinaryIO, content_type: str) -> None:
        path = self._path(key)
        try:
            self._folder(path.parent)
            fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".put-")  # 0600
        except OSError as err:
            raise StorageUnavailable(f"cannot write in {path.parent}: {err}") from err
        try:
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(source, out, 1024 * 1024)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException as err:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            if isinstance(err, OSError):
                raise StorageUnavailable(f"cannot write {key}: {err}") from err
            raise
        _fsync_folder(path.parent)

    def open(self, key: str) -> BinaryIO:
        path = self._path(key)
        try:
            # O_NOFOLLOW: a symbolic link put in the folder by someone else is not followed.
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            raise FileNotStored(key) from None
        except OSError as err:
            if err.errno == errno.ELOOP:
                raise FileNotStored(key) from None
            raise StorageUnavailable(f"cannot read {key}: {err}") from err
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise FileNotStored(key)
        return os.fdopen(fd, "rb")

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink()
        except FileNotFoundError:
            return
        except OSError as err:
            raise StorageUnavailable(f"cannot delete {key}: {err}") from err
        _fsync_folder(path.parent)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()


def _fsync_folder(folder: Path) -> None:
    """The rename or removal itself survives a power cut."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# --- S3-compatible object storage ------------------------------------------------------------


class S3Storage:
    """Files as objects in an S3-compatible bucket (AWS S3, MinIO, Ceph, ...), through boto3.
    Every object is written with server-side encryption (SSE-S3, AES256, or SSE-KMS with the
    settings' key), and read back once written to check that the service did encrypt it: a
    service that ignores the request gets the object deleted and StorageUnavailable, rather than
    a citizen's passport stored in the clear. Uploads and downloads are streamed (multipart
    above 16MB, one part in memory at a time, no threads)."""

    def __init__(
        self,
        bucket: str,
        *,
        client: Any,
        sse: str = "AES256",
        kms_key_id: str = "",
    ) -> None:
        if sse not in ("AES256", "aws:kms"):
            raise ValueError("server-side encryption must be AES256 or aws:kms")
        self.bucket = bucket
        self.client = client
        self.sse = sse
        self.kms_key_id = kms_key_id

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Storage:
        return cls(
            settings.s3_bucket, client=_s3_client(settings), sse=settings.s3_sse, kms_key_id=settings.s3_kms_key_id
        )

    def _encryption(self) -> dict[str, str]:

        args = {"ServerSideEncryption": self.sse}
        if self.sse == "aws:kms" and self.kms_key_id:
            args["SSEKMSKeyId"] = self.kms_key_id
        return args

    def put(self, key: str, source: BinaryIO, content_type: str) -> None:
        from boto3.s3.transfer import TransferConfig

        check_key(key)
        transfer = TransferConfig(
            multipart_threshold=16 * 1024 * 1024, multipart_chunksize=8 * 1024 * 1024, use_threads=False
        )
        with _unavailable(f"cannot store {key} in {self.bucket}"):
            self.client.upload_fileobj(
                source, self.bucket, key, ExtraArgs={"ContentType": content_type, **self._encryption()}, Config=transfer
            )
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        if head.get("ServerSideEncryption") != self.sse or (
            self.sse == "aws:kms"
            and self.kms_key_id
            and not _same_kms_key(head.get("SSEKMSKeyId", ""), self.kms_key_id)
        ):
            with _unavailable(f"cannot delete {key} from {self.bucket}"):
                self.client.delete_object(Bucket=self.bucket, Key=key)
            raise StorageUnavailable(
                f"{self.bucket} did not encrypt {key} with {self.sse} (it said {head.get('ServerSideEncryption')!r}): "
                "the object was deleted"
            )

    def open(self, key: str) -> BinaryIO:
        check_key(key)
        try:
            with _unavailable(f"cannot read {key} from {self.bucket}"):
                response = self.client.get_object(Bucket=self.bucket, Key=key)
        except StorageUnavailable as err:
            if _not_found(err.__cause__):
                raise FileNotStored(key) from None
            raise
        return cast(BinaryIO, _Body(response["Body"]))

    def delete(self, key: str) -> None:
        check_key(key)
        with _unavailable(f"cannot delete {key} from {self.bucket}"):
            self.client.delete_object(Bucket=self.bucket, Key=key)

    def exists(self, key: str) -> bool:
        check_key(key)
        try:
            with _unavailable(f"cannot look for {key} in {self.bucket}"):
                self.client.head_object(Bucket=self.bucket, Key=key)
        except StorageUnavailable as err:
            if _not_found(err.__cause__):
                return False
            raise
        return True


_clients: dict[tuple[str, ...], Any] = {}
_clients_lock = threading.Lock()


def _s3_client(settings: Settings) -> Any:
    """One boto3 client per process and S3 settings (making one takes tens of milliseconds;
    a client is safe to share between threads)."""
    key = (settings.s3_endpoint_url, settings.s3_region, settings.s3_access_key_id, settings.s3_secret_access_key)
    with _clients_lock:
        if key in _clients:
            return _clients[key]
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=5,
        read_timeout=60,
        retries={"max_attempts": 3, "mode": "standard"},
        signature_version="s3v4",
        # An S3-compatible service at its own address is addressed by path (MinIO needs it).
        s3={"addressing_style": "path" if settings.s3_endpoint_url else "auto"},
    )
    credentials = (
        {"aws_access_key_id": settings.s3_access_key_id, "aws_secret_access_key": settings.s3_secret_access_key}
        if settings.s3_access_key_id
        else {}
    )
    client = boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url or None,
        region_name=settings.s3_region or None,
        config=config,
        **credentials,
    )
    with _clients_lock:
        return _clients.setdefault(key, client)


def _same_kms_key(reported: str, configured: str) -> bool:
    """S3 reports the key's ARN; the settings may name it by id or alias ARN."""
    return reported == configured or reported.endswith("/" + configured)


def _not_found(error: BaseException | None) -> bool:
    response = getattr(error, "response", None)
    code = str((response or {}).get("Error", {}).get("Code", ""))
    return code in ("404", "NoSuchKey", "NotFound")


@contextlib.contextmanager
def _unavailable(what: str) -> Iterator[None]:
    """boto3's errors (the endpoint down, access denied, no such bucket) as StorageUnavailable."""
    from boto3.exceptions import Boto3Error
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (BotoCoreError, ClientError, Boto3Error) as err:
        raise StorageUnavailable(f"{what}: {err}") from err


class _Body:
    """An object's body as a read-only binary stream (botocore's StreamingBody lacks some of
    io's methods), closed with the with statement."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def read(self, size: int = -1) -> bytes:
        return bytes(self._body.read(None if size is None or size < 0 else size))

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._body.close()

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._body.iter_chunks(64 * 1024))

    def __enter__(self) -> _Body:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def storage_for(settings: Settings) -> Storage:
    """The storage the settings name: the local folder (the default) or an S3 bucket."""
    if settings.upload_storage == "s3":
        return S3Storage.from_settings(settings)
    return LocalStorage(settings.upload_dir)
