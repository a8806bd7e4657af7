"""The signed-in readers' fast path in Chromium (edition/signedin.py): a page it answered
works, at a desktop's width and a phone's, and its CSRF token posts (signing out; an editor's
proposal through htmx)."""

import pytest

from edition import signedin
from review.models import Proposal
from tests.browser import chromium_page
from tests.review.test_browser_story import LISTEN, open_form, sign_in, sign_out, submit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PATH = "/frus1958-60v18/d142/"


@pytest.fixture
def answered(monkeypatch):
    """The paths the fast path answered, in order (the live server runs in this process)."""
    seen = []
    answer = signedin.answer

    def spy(request):
        response = answer(request)
        if response is not None:
            seen.append(request.path)
        return response

    monkeypatch.setattr(signedin, "answer", spy)
    return seen


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize("width", [1280, 390])
def test_a_reader_on_the_fast_path(live_server, sample_volume, people, answered, width,
                                   tmp_path):
    with chromium_page() as page:
        page.set_viewport_size({"width": width, "height": 900})
        sign_in(page, live_server.url, "stranger", PATH)
        page.reload()  # the stack cached the session, the user and the parts: now the fast path
        assert answered == [PATH]
        assert page.get_by_role("button", name="Sign out").is_visible()
        assert "stranger" in page.content()
        assert page.locator(".propose-root").count() == 0
        assert fits(page)
        page.screenshot(path=str(tmp_path / f"reader-{width}.png"), full_page=False)
        sign_out(page)  # the sign-out form posts the fast page's token: accepted
        assert "/accounts/login/" not in page.url
        assert page.get_by_role("link", name="Sign in").count() >= 1


@pytest.mark.parametrize("width", [1280, 390])
def test_an_editor_proposes_from_a_fast_page(live_server, sample_volume, people, answered,
                                             width, tmp_path):
    with chromium_page() as page:
        page.set_viewport_size({"width": width, "height": 900})
        sign_in(page, live_server.url, "editor", PATH)
        page.reload()
        assert answered == [PATH]
        assert fits(page)
        page.evaluate(LISTEN)
        form = open_form(page, "article.tei-document", "restrained manner", "select",
                         "Propose a change")
        form.locator("textarea[name=replacement], input[name=replacement]").first.fill(
            "calm manner")
        page.screenshot(path=str(tmp_path / f"editor-form-{width}.png"), full_page=False)
        number = submit(page, form, "A fast page's token posts.")
        assert Proposal.objects.filter(pk=number, author=people.editor).exists()
        # The proposal is in the editor's bar at once (the stack: their parts were dropped),
        # then from the fast path again.
        page.reload()
        assert f"Proposal {number}" in page.content() and answered == [PATH]
        page.reload()
        assert f"Proposal {number}" in page.content() and answered == [PATH, PATH]


def test_signing_out_works_on_a_page_revalidated_after_signing_in_again(live_server,
                                                                        sample_volume, people):
    """Chromium revalidates its copy from the session before (If-None-Match, despite `Vary:
    Cookie`): answered 304, that copy's token, made from the secret signing in replaced, was
    refused (403) when the reader signed out."""
    with chromium_page() as page:
        sign_in(page, live_server.url, "stranger", PATH)
        page.reload()
        sign_out(page)
        sign_in(page, live_server.url, "stranger", PATH)
        page.goto(live_server.url + PATH)
        page.wait_for_load_state()
        sign_out(page)
        assert "/accounts/logout/" not in page.url
        assert page.get_by_role("link", name="Sign in").count() >= 1
