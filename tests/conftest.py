import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from lxml import etree

from tests.helpers import EXCERPT, make_member

SCHEMA = Path(settings.BASE_DIR) / "var" / "schemas" / "tei_all.rng"


@pytest.fixture(scope="session")
def tei_all() -> etree.RelaxNG:
    """TEI P5 tei_all, compiled once per run (about ten seconds)."""
    if not SCHEMA.exists():
        pytest.fail(f"{SCHEMA} is missing: run `make schema` (make test does it)")
    return etree.RelaxNG(etree.parse(str(SCHEMA)))


@pytest.fixture
def sample_edition(db):
    from edition.imports import import_tei

    if not EXCERPT.exists():
        pytest.fail(f"{EXCERPT} is missing: the samples are found in EMEND_SAMPLES_DIR "
                    f"(default: shared/samples beside the checkout)")
    return import_tei(EXCERPT).edition


@pytest.fixture
def sample_volume(sample_edition):
    """The sample edition as `make run` loads it: d142 and d144 from TEI, d143 from its plain
    text, in volume order."""
    from edition.imports import import_text
    from tests.helpers import D143_TEXT

    import_text(D143_TEXT, edition=sample_edition)
    return sample_edition


@pytest.fixture
def people(sample_edition):
    """The personas of every module: members of the sample edition by role, and `stranger`, who
    has an account but no role in it. Usernames are the personas' names; make_member sets the
    password."""
    ed = sample_edition
    return SimpleNamespace(
        editor=make_member(ed, "editor", "editor"),
        editor2=make_member(ed, "editor2", "editor"),
        reviewer=make_member(ed, "reviewer", "reviewer"),
        reviewer2=make_member(ed, "reviewer2", "reviewer"),
        admin=make_member(ed, "admin", "admin"),
        stranger=make_member(ed, "stranger", None),
    )


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2's deliberate slowness buys nothing in tests and costs minutes across personas.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _export_storage(settings, tmp_path_factory):
    """Exports built by a test go to a folder of its own, never var/exports."""
    settings.STORAGES = {**settings.STORAGES, "exports": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path_factory.mktemp("exports"))},
    }}


@pytest.fixture(autouse=True)
def _media_storage(settings, tmp_path_factory):
    """Page images stored by a test go to a folder of its own, never var/media."""
    settings.MEDIA_ROOT = str(tmp_path_factory.mktemp("media"))


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache, Redis included (CI): rendered fragments cached by
    an earlier test (or run) would hide whether a test renders what it should."""
    from django.core.cache import cache

    from edition.pagecache import forget_routes
    from edition.pages import forget_origins

    cache.clear()
    forget_origins()  # the image origins each process remembers (edition/pages.py)
    forget_routes()  # the fast path's routes (edition/pagecache.py)
    yield
    cache.clear()
    forget_routes()


def pytest_collection_modifyitems(config, items):
    if os.environ.get("EMEND_REQUIRE_SERVICES") and settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        raise pytest.UsageError("EMEND_REQUIRE_SERVICES is set but DATABASE_URL is not PostgreSQL")
