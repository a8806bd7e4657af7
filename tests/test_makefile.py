"""`make run`: what the started server is told about itself."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def site_urls(*args: str, **env: str) -> set[str]:
    environment = {k: v for k, v in os.environ.items() if k != "EMEND_SITE_URL"} | env
    dry_run = subprocess.run(["make", "-n", "run", *args], cwd=ROOT, env=environment,
                             capture_output=True, text=True, check=True).stdout
    return set(re.findall(r"EMEND_SITE_URL=(\S+)", dry_run))


def test_run_links_exports_and_mail_to_its_own_port():
    assert site_urls("PORT=8101") == {"http://127.0.0.1:8101"}
    assert site_urls("HOST=0.0.0.0", "PORT=9000") == {"http://0.0.0.0:9000"}


def test_a_site_url_given_is_kept():
    assert site_urls("PORT=8101", EMEND_SITE_URL="https://emend.example.org") == {
        "https://emend.example.org"}
