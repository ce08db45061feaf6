"""qionglai.core.api.ContentNegotiation: DRF's choice of renderer, with the no-preference case
answered without parsing the Accept header."""

from __future__ import annotations

import pytest
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from qionglai.core.api import ContentNegotiation

ACCEPTS = [
    None,
    "*/*",
    "application/json",
    "application/json; indent=4",
    "text/html",
    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "application/*",
]
FORMATS = [None, "json", "api"]


def _request(accept, fmt):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    return Request(APIRequestFactory().get("/api/v1/incidents/", {"format": fmt} if fmt else {}, **headers))


@pytest.mark.parametrize("accept", ACCEPTS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_it_chooses_what_drf_chooses(accept, fmt):
    def choice(negotiation):
        try:
            renderer, media_type = negotiation.select_renderer(
                _request(accept, fmt), [JSONRenderer(), BrowsableAPIRenderer()]
            )
        except NotAcceptable:  # ?format=api with a JSON-only Accept, say: 406 from both
            return "406"
        return type(renderer), media_type

    assert choice(ContentNegotiation()) == choice(DefaultContentNegotiation())


@pytest.mark.parametrize("accept", [None, "*/*", "application/json"])
def test_a_client_without_a_preference_is_answered_without_parsing_its_header(accept, monkeypatch):
    def parse(self, request):
        raise AssertionError("parsed")

    monkeypatch.setattr(DefaultContentNegotiation, "_get_parsed_accept_list", parse)
    renderer, media_type = ContentNegotiation().select_renderer(
        _request(accept, None), [JSONRenderer(), BrowsableAPIRenderer()]
    )
    assert (type(renderer), media_type) == (JSONRenderer, "application/json")
