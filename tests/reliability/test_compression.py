"""The report page and its assets go out compressed, and static files with hashed names are
cached for long, so a phone on a slow link does not fetch them again every minute."""

import gzip

import pytest

pytestmark = pytest.mark.django_db


def test_the_report_page_is_sent_gzipped_to_a_browser_that_accepts_it(client, alice):
    client.force_login(alice)
    response = client.get("/grids/report/", HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    page = gzip.decompress(response.content).decode()
    assert "随手报" in page
    assert len(response.content) < len(page.encode()) / 2
