"""The list's next/previous links are DRF's replace_query_param of the request's absolute URL
(grids/api.py builds both from one parse of it)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIRequestFactory
from rest_framework.utils.urls import replace_query_param

from grids.api import IncidentPagination


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?status=reported",
        "?cursor=b2xkZXI&status=closed&page_size=50",
        "?q=%E8%B7%AF%E5%8F%A3+%E5%9E%83%E5%9C%BE&urgency=red&urgency=orange",
        "?place=510183.001&empty=&z=1&a=2",
        "?cursor=one&cursor=two",
    ],
)
def test_it_writes_the_links_drf_would(query):
    from rest_framework.request import Request

    request = Request(APIRequestFactory().get("/api/v1/incidents/" + query))
    paginator = IncidentPagination()
    paginator.request, paginator._link_parts = request, None
    for cursor in ("b2xkZXI6MjAyNi0xMi0wMw", "bmV3ZXI6MjAyNi0xMS0zMA+/=", None):
        expected = (
            None if cursor is None else replace_query_param(request.build_absolute_uri(), "cursor", cursor)
        )
        assert paginator._link(cursor) == expected
