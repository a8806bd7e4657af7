"""The JSON API, mounted at /api/ (docs/API.md). Names: review:api:<name>."""

from django.contrib.auth.decorators import login_not_required
from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView

from edition.urls import DocumentIdConverter  # noqa: F401  (registers docid and num)

from . import api, api_pages, api_search, api_suggestions

app_name = "api"
# Actions answer with or without a trailing slash (APPEND_SLASH cannot redirect a POST).
urlpatterns = [
    # The OpenAPI 3 schema, generated from the views (public): JSON, or YAML with ?format=yaml.
    path("schema/", login_not_required(SpectacularAPIView.as_view()), name="schema"),
    path("editions/<slug:edition>/documents/<docid:doc>/", api.document, name="document"),
    path("editions/<slug:edition>/documents/<docid:doc>/proposals/", api.document_proposals,
         name="document_proposals"),
    path("editions/<slug:edition>/documents/<docid:doc>/pages/", api_pages.pages,
         name="document_pages"),
    path("editions/<slug:edition>/documents/<docid:doc>/suggestions/",
         api_suggestions.suggestions, name="document_suggestions"),
    re_path(r"^editions/(?P<edition>[-\w]+)/documents/(?P<doc>[A-Za-z_][\w.-]*?)/suggestions/"
            r"(?P<pk>[0-9]{1,9})/propose/?$", api_suggestions.propose, name="propose_suggestion"),
    re_path(r"^editions/(?P<edition>[-\w]+)/documents/(?P<doc>[A-Za-z_][\w.-]*?)/suggestions/"
            r"(?P<pk>[0-9]{1,9})/dismiss/?$", api_suggestions.dismiss, name="dismiss_suggestion"),
    re_path(r"^editions/(?P<edition>[-\w]+)/(?P<register>persons|terms)/$", api.register,
            name="register"),
    path("search/", api.search_text, name="search"),
    path("search/proposals/", api_search.search_proposals, name="search_proposals"),
    path("proposals/", api.proposals, name="proposals"),
    path("proposals/<num:pk>/", api.proposal, name="proposal"),
    re_path(r"^proposals/(?P<pk>[0-9]{1,9})/approve/?$", api.approve, name="approve"),
    re_path(r"^proposals/(?P<pk>[0-9]{1,9})/reject/?$", api.reject, name="reject"),
    re_path(r"^proposals/(?P<pk>[0-9]{1,9})/request-changes/?$", api.request_changes,
            name="request_changes"),
    re_path(r"^proposals/(?P<pk>[0-9]{1,9})/comment/?$", api.comment, name="comment"),
    re_path(r"^proposals/(?P<pk>[0-9]{1,9})/withdraw/?$", api.withdraw, name="withdraw"),
    re_path(r"^proposals/(?P<pk>[0-9]{1,9})/retarget/?$", api.retarget, name="retarget"),
    re_path(r"^(?P<path>.*)$", api.not_found),
]
