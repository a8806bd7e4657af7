from types import SimpleNamespace

import pytest

from tests.helpers import make_member


@pytest.fixture
def people(sample_edition):
    """The personas of the review tests; `stranger` has an account but no role here."""
    ed = sample_edition
    return SimpleNamespace(
        editor=make_member(ed, "editor", "editor"),
        reviewer=make_member(ed, "reviewer", "reviewer"),
        reviewer2=make_member(ed, "reviewer2", "reviewer"),
        admin=make_member(ed, "admin", "admin"),
        stranger=make_member(ed, "stranger", None),
    )
