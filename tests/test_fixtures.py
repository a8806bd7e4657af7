"""The shared test fixtures themselves: one set of personas, the samples where settings say."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

from edition.models import Membership
from tests.helpers import D143_TEXT, EXCERPT


@pytest.mark.django_db
def test_personas_have_their_roles_and_the_stranger_none(people, sample_edition):
    roles = dict(Membership.objects.filter(edition=sample_edition)
                 .values_list("user__username", "role"))
    assert roles == {"editor": "editor", "editor2": "editor", "reviewer": "reviewer",
                     "reviewer2": "reviewer", "admin": "admin"}
    assert people.stranger.username == "stranger" and not people.stranger.memberships.exists()


def test_the_samples_are_where_settings_say():
    assert EXCERPT.parent == settings.EMEND_SAMPLES_DIR
    assert EXCERPT.is_file() and D143_TEXT.is_file()


def test_the_tests_ask_settings_for_the_samples(tmp_path):
    """One rule: a settings module of one's own moves the samples for the tests too."""
    (tmp_path / "own_settings.py").write_text(
        "from pathlib import Path\n"
        "from config.settings import *  # noqa: F403\n"
        f"EMEND_SAMPLES_DIR = Path({str(tmp_path)!r})\n")
    env = {name: value for name, value in os.environ.items() if name != "EMEND_SAMPLES_DIR"}
    env.update(DJANGO_SETTINGS_MODULE="own_settings",
               PYTHONPATH=os.pathsep.join([str(tmp_path), str(settings.BASE_DIR)]))
    script = "import django; django.setup()\nfrom tests.helpers import EXCERPT; print(EXCERPT)"
    result = subprocess.run([sys.executable, "-c", script], cwd=settings.BASE_DIR, env=env,
                            capture_output=True, text=True, check=True)
    assert result.stdout.strip() == str(tmp_path / EXCERPT.name)
