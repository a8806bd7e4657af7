"""The shared cache: keys never outlive their database, and a cache that fails is a cache that
misses."""

import logging

import pytest
from django.core.cache import cache
from lxml import html

from edition import sharedcache
from edition.models import Document, Instance, Revision

pytestmark = pytest.mark.django_db

URL = "/frus1958-60v18/d142/"
DEAD_REDIS = {"default": {
    "BACKEND": "edition.sharedcache.RedisCache", "LOCATION": "redis://127.0.0.1:1/0",
    "KEY_FUNCTION": "edition.sharedcache.make_key",
    "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
}}


@pytest.fixture
def other_database():
    """Stand in a second database behind the same cache: another token, and the process that
    reads it started afresh."""
    saved = sharedcache._token

    def switch():
        Instance.objects.update(token="another-database")
        sharedcache.forget_instance_token()

    yield switch
    sharedcache._token = saved


def words(response) -> str:
    return " ".join(html.fromstring(response.content).text_content().split())


def test_a_reader_never_gets_another_databases_page(client, sample_edition, other_database):
    assert "Parsons added" in words(client.get(URL))
    # The other database holds the same edition under the same slug and stamp, with other text,
    # and nothing in it ever touched this cache.
    other_database()
    document = Document.objects.get(xml_id="d142")
    tei = document.current_revision.tei.replace("Parsons</persName> added",
                                                "Parsons</persName> noted")
    revision = Revision.objects.create(document=document, number=2, tei=tei, summary="other",
                                       parent=document.current_revision)
    Document.objects.filter(pk=document.pk).update(current_revision=revision)

    page = words(client.get(URL))
    assert "Parsons noted" in page and "Parsons added" not in page
    assert "Parsons noted" in str(client.get("/api/editions/frus1958-60v18/documents/d142/").json())
    assert "Parsons noted" in client.get("/frus1958-60v18/d142.txt").content.decode()


def test_keys_name_the_database(sample_edition):
    assert Instance.objects.get().token in cache.make_key("emend:stamp:x")


def test_an_unreachable_cache_misses_and_logs_once(settings, caplog):
    settings.CACHES = DEAD_REDIS
    sharedcache._down_until.clear()
    with caplog.at_level(logging.WARNING, logger="edition.sharedcache"):
        assert cache.get("k") is None
        cache.set("k", 1)
        assert cache.get_many(["k"]) == {}
        assert cache.add("k", 1) is False
        cache.delete("k")
    assert len([r for r in caplog.records if "unreachable" in r.message]) == 1


def test_a_cache_folder_that_fails_misses(settings, tmp_path, client, sample_edition):
    folder = tmp_path / "cache"
    settings.CACHES = {"default": {
        "BACKEND": "edition.sharedcache.FileBasedCache", "LOCATION": str(folder),
        "KEY_FUNCTION": "edition.sharedcache.make_key",
    }}
    sharedcache._down_until.clear()
    cache.get("k")
    folder.rmdir()
    folder.write_text("")  # the folder gone: every read and write fails
    assert "Parsons added" in words(client.get(URL))
    assert "Parsons added" in words(client.get(URL))
    sharedcache._down_until.clear()


def test_one_redis_client_per_process_and_server():
    """Django's client makes a `redis.Redis` per call and each thread's backend its own pool;
    ours keeps one of each (nothing connects until a command is sent)."""
    from edition.sharedcache import RedisCache

    options = {"OPTIONS": {"socket_timeout": 1.0}}
    one = RedisCache("redis://127.0.0.1:6399/14", options)
    two = RedisCache("redis://127.0.0.1:6399/14", options)  # another thread's backend
    assert one._cache is two._cache
    assert one._cache.get_client(write=False) is two._cache.get_client(write=True)
    other = RedisCache("redis://127.0.0.1:6399/13", options)
    assert other._cache is not one._cache
    assert other._cache.get_client() is not one._cache.get_client()
