"""Load the sample edition and demo accounts; safe to run again (make run calls it every time)."""

import json
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from edition import pages
from edition.imports import import_tei, import_text
from edition.models import Edition, Membership

SLUG = "frus1958-60v18"
HISTORY_STATE_GOV = "https://history.state.gov/historicaldocuments/{volume}/{document}"
# FRUS's page images by pb/@facs (issue 11): the medium PNGs history.state.gov shows.
FRUS_PAGE_IMAGE = "https://static.history.state.gov/frus/{volume}/medium/{facs}.png"
DEMO_ACCOUNTS = [
    ("editor", Membership.Role.EDITOR, False),
    ("reviewer", Membership.Role.REVIEWER, False),
    ("admin", Membership.Role.ADMIN, True),
]


class Command(BaseCommand):
    help = "Import the sample FRUS edition (if absent) and create or refresh the demo accounts."

    def handle(self, *args, **options):
        samples = settings.EMEND_SAMPLES_DIR
        # The excerpt with the volume's real front matter when it is there: the whole volume's
        # shape (Preface, Sources, Abbreviations, Persons, the compilation's own page).
        excerpt = samples / "frus1958-60v18-with-front-matter.xml"
        if not excerpt.exists():
            excerpt = samples / "frus1958-60v18-excerpt.xml"
        plain = samples / "frus1958-60v18-d143-plaintext.txt"
        if not excerpt.exists():
            raise CommandError(f"samples not found in {samples} (set EMEND_SAMPLES_DIR)")
        edition = Edition.objects.filter(slug=SLUG).first()
        if edition is None:
            edition = import_tei(excerpt).edition
            # Documents the excerpt cites but lacks (d139, d141) are read at the Office of
            # the Historian rather than shown as dead links.
            edition.upstream_url = HISTORY_STATE_GOV
            edition.save(update_fields=["upstream_url"])
            self.stdout.write(f"Imported {excerpt.name}")
        if not edition.documents.filter(xml_id="d143").exists():
            import_text(plain, edition=edition)
            self.stdout.write(f"Imported {plain.name} as d143")
        if not edition.facsimile_url:
            # The sample's TEI has no <facsimile>: its pages are where history.state.gov
            # keeps them, which the server may fetch for OCR.
            edition.facsimile_url = FRUS_PAGE_IMAGE
            edition.facsimile_hosts = ["static.history.state.gov"]
            edition.save(update_fields=["facsimile_url", "facsimile_hosts"])
        pages.sync(edition)  # here, not in a worker: the demo's pages are there at once
        passwords = self._accounts(edition)
        self.stdout.write(self.style.SUCCESS("\nDemo accounts (sign in at /accounts/login/):"))
        for username, role, _ in DEMO_ACCOUNTS:
            self.stdout.write(f"  {username:<9} password {passwords[username]}   ({role.label})")

    @transaction.atomic
    def _accounts(self, edition: Edition) -> dict[str, str]:
        # Passwords are made once per checkout and kept under var/, so every run prints the same.
        store = settings.VAR_DIR / "demo-accounts.json"
        passwords = json.loads(store.read_text()) if store.exists() else {}
        User = get_user_model()
        for username, role, staff in DEMO_ACCOUNTS:
            password = passwords.setdefault(username, f"{username}-{secrets.token_urlsafe(6)}")
            user, _ = User.objects.get_or_create(username=username)
            user.is_staff = user.is_superuser = staff
            user.email = f"{username}@example.org"
            user.set_password(password)
            user.save()
            Membership.objects.update_or_create(edition=edition, user=user,
                                                defaults={"role": role})
        store.parent.mkdir(parents=True, exist_ok=True)
        store.write_text(json.dumps(passwords, indent=2))
        store.chmod(0o600)
        return passwords
