"""Media: a local directory and S3 (moto's server), both confined to the tenant's prefix."""

from __future__ import annotations

import uuid
from pathlib import Path

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError

from persistence.media import (
    InvalidMediaKey,
    LocalMediaStore,
    MediaNotFound,
    MediaStore,
    S3MediaStore,
    safe_name,
)

pytest_plugins = ("fixtures_services",)

ORG = "64b7f0c2a1b2c3d4e5f60718"
OTHER = "64b7f0c2a1b2c3d4e5f60719"


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> MediaStore:
    if request.param == "local":
        return LocalMediaStore(tmp_path / "media")
    endpoint = request.getfixturevalue("aws_endpoint")
    bucket = f"chorus-media-{uuid.uuid4().hex[:12]}"
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=endpoint)
    s3.create_bucket(Bucket=bucket)
    return S3MediaStore(bucket, "us-east-1", endpoint_url=endpoint)


async def test_put_get_list_delete(store: MediaStore) -> None:
    image = await store.put(ORG, "launch.png", b"\x89PNG...", "image/png")
    video = await store.put(ORG, "teaser.mp4", b"\x00" * 1024, "video/mp4")

    assert image.key.startswith(f"{ORG}/")
    assert image.key.endswith("/launch.png")
    assert (image.size, image.content_type) == (7, "image/png")
    assert image.key != video.key
    assert await store.get(ORG, image.key) == b"\x89PNG..."

    listed = await store.list(ORG)
    assert [(m.key, m.size, m.content_type) for m in listed] == sorted(
        [(image.key, 7, "image/png"), (video.key, 1024, "video/mp4")]
    )
    assert await store.list(OTHER) == []

    await store.delete(ORG, image.key)
    with pytest.raises(MediaNotFound):
        await store.get(ORG, image.key)
    assert [m.key for m in await store.list(ORG)] == [video.key]
    await store.delete(ORG, image.key)  # deleting what is gone is fine


async def test_erasing_a_tenant_removes_everything_under_its_prefix_and_nothing_else(
    store: MediaStore,
) -> None:
    for name in ("a.png", "b.png", "c.mp4"):
        await store.put(ORG, name, b"mine", "image/png")
    theirs = await store.put(OTHER, "keep.png", b"theirs", "image/png")

    assert await store.erase_tenant(ORG) == 3

    assert await store.list(ORG) == []
    assert await store.erase_tenant(ORG) == 0
    assert await store.get(OTHER, theirs.key) == b"theirs"
    if isinstance(store, LocalMediaStore):
        assert not (store._root / ORG).exists()  # not even an empty directory named for it


async def test_another_tenants_key_is_refused(store: MediaStore) -> None:
    theirs = await store.put(OTHER, "secret.pdf", b"%PDF their data", "application/pdf")

    with pytest.raises(InvalidMediaKey, match="not in this organization"):
        await store.get(ORG, theirs.key)
    with pytest.raises(InvalidMediaKey, match="not in this organization"):
        await store.delete(ORG, theirs.key)
    # Nothing happened to it.
    assert await store.get(OTHER, theirs.key) == b"%PDF their data"


@pytest.mark.parametrize(
    "key",
    [
        f"{ORG}/../{OTHER}/x",
        f"{ORG}/0123/../../{OTHER}/0123/x.png",
        f"/{ORG}/0123/x.png",
        f"{ORG}/0123/..",
        f"{ORG}/../x.png",
        f"{ORG}/./x.png",
        f"{ORG}//x.png",
        f"{ORG}/0123/x/y.png",
        f"{ORG}/0123",
        f"{ORG}\\0123\\x.png",
        f"{ORG}/0123/x.png\x00.jpg",
        f"{ORG}/0123/.meta.json",
        f"{ORG}/0123/x.png\n",
        "",
    ],
)
async def test_path_tricks_are_refused(store: MediaStore, key: str) -> None:
    await store.put(ORG, "x.png", b"data", "image/png")
    with pytest.raises(InvalidMediaKey):
        await store.get(ORG, key)
    with pytest.raises(InvalidMediaKey):
        await store.delete(ORG, key)


@pytest.mark.parametrize("org", ["", "..", "a/b", "../" + ORG, "x" * 65, ORG + "\n"])
async def test_bad_org_ids_are_refused(store: MediaStore, org: str) -> None:
    with pytest.raises(InvalidMediaKey, match="organization id"):
        await store.put(org, "x.png", b"data", "image/png")
    with pytest.raises(InvalidMediaKey, match="organization id"):
        await store.list(org)


async def test_hostile_names_stay_inside_the_tenant(store: MediaStore) -> None:
    stored = await store.put(ORG, "../../etc/passwd", b"root:x", "text/plain")
    org, _, name = stored.key.split("/")
    assert (org, name) == (ORG, "passwd")
    assert await store.get(ORG, stored.key) == b"root:x"


@pytest.mark.parametrize(
    "content_type", ["", "png", "text/plain\r\nX-Evil: 1", "text/plain\n", "é/x"]
)
async def test_bad_content_types_are_refused(store: MediaStore, content_type: str) -> None:
    with pytest.raises(ValueError, match="content type"):
        await store.put(ORG, "x.txt", b"data", content_type)
    assert await store.list(ORG) == []


async def test_missing_key_is_not_found(store: MediaStore) -> None:
    with pytest.raises(MediaNotFound):
        await store.get(ORG, f"{ORG}/{uuid.uuid4().hex}/nothing.png")


async def test_health_check(store: MediaStore) -> None:
    assert await store.check()


def test_safe_name() -> None:
    assert safe_name("My Photo (1).JPG") == "My_Photo_1_.JPG"
    assert safe_name("..\\..\\boot.ini") == "boot.ini"
    assert safe_name(".htaccess") == "htaccess"
    assert safe_name("..") == "file"
    assert safe_name("") == "file"
    long = safe_name("a" * 300 + ".jpeg")
    assert len(long) == 128
    assert long.endswith(".jpeg")


async def test_local_files_live_under_root_and_urls_are_served(tmp_path: Path) -> None:
    root = tmp_path / "media"
    store = LocalMediaStore(root, base_url="/media/")
    stored = await store.put(ORG, "a.txt", b"hello", "text/plain")
    assert (root / stored.key).read_bytes() == b"hello"
    assert stored.url == f"/media/{stored.key}"
    assert not list(root.rglob(".tmp-*"))  # no half-written files left over


async def test_s3_url_is_fetchable_with_the_content_type(aws_endpoint: str) -> None:
    bucket = f"chorus-media-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", region_name="us-east-1", endpoint_url=aws_endpoint).create_bucket(
        Bucket=bucket
    )
    store = S3MediaStore(bucket, "us-east-1", endpoint_url=aws_endpoint)
    stored = await store.put(ORG, "clip.mp4", b"frames", "video/mp4")

    assert stored.url.startswith(f"{aws_endpoint}/{bucket}/{stored.key}?")
    async with httpx.AsyncClient(timeout=10) as http:  # a plain GET of the presigned URL
        response = await http.get(stored.url)
    assert response.status_code == 200
    assert response.content == b"frames"
    assert response.headers["Content-Type"] == "video/mp4"


async def test_s3_public_base_url(aws_endpoint: str) -> None:
    store = S3MediaStore(
        "any-bucket", "us-east-1", aws_endpoint, public_base_url="https://cdn.example.com/"
    )
    assert store._url(f"{ORG}/abc/x.png") == f"https://cdn.example.com/{ORG}/abc/x.png"


async def test_s3_health_check_fails_for_a_missing_bucket(aws_endpoint: str) -> None:
    store = S3MediaStore("no-such-bucket-" + uuid.uuid4().hex[:8], "us-east-1", aws_endpoint)
    with pytest.raises(ClientError, match=r"404|Not Found|NoSuchBucket"):
        await store.check()
