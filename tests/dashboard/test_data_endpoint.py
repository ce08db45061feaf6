"""The data endpoint's answer goes out as stored: plain or gzipped bytes made when it was built,
an ETag made then too, a 304 for a client that holds it."""

from __future__ import annotations

import gzip
import json
from datetime import timedelta

import pytest
from django.urls import reverse

from qionglai.dashboard import payload, tasks

from .conftest import NOW, make_incident

URL = reverse("dashboard:data") + "?period=30d"


@pytest.mark.django_db
def test_it_sends_the_stored_answer_plain_gzipped_or_not_modified(
    client, victor, dataset, django_assert_num_queries
):
    tasks.dashboard_fill()
    client.force_login(victor)
    plain = client.get(URL)
    assert plain.status_code == 200 and "Content-Encoding" not in plain
    etag = plain["ETag"]
    assert etag.startswith('W/"') and plain["Cache-Control"] == "private, no-cache"
    assert "Accept-Encoding" in plain["Vary"]
    assert json.loads(plain.content)["figures"][0]["value"] == 6 + 3  # both towns' incidents
    # gzipped when the client takes it: the same JSON, the same ETag (the same content)
    zipped = client.get(URL, headers={"accept-encoding": "gzip, deflate"})
    assert zipped["Content-Encoding"] == "gzip" and zipped["ETag"] == etag
    assert gzip.decompress(zipped.content) == plain.content
    assert int(zipped["Content-Length"]) == len(zipped.content) < len(plain.content)
    # a client holding it gets a 304 with no body, for the same reads as a hit: session,
    # user, device, grants (4); the stamp and the body from the cache
    with django_assert_num_queries(4):
        again = client.get(URL, headers={"if-none-match": etag})
    assert again.status_code == 304 and again.content == b"" and again["ETag"] == etag
    assert client.get(URL, headers={"if-none-match": 'W/"something-else"'}).status_code == 200


@pytest.mark.django_db
def test_a_new_stamp_is_a_new_etag_and_each_breadcrumb_its_own_answer(
    client, victor, tina, dataset, time_machine
):
    tasks.dashboard_fill()
    town = dataset["i1"].community.town
    client.force_login(victor)
    as_city = client.get(URL + "&place=" + town.path)
    client.force_login(tina)
    as_town = client.get(URL + "&place=" + town.path)
    # the breadcrumb differs (the city viewer's has the city above the town), so do the bytes
    assert as_city["ETag"] != as_town["ETag"]
    assert [c["place"] for c in json.loads(as_town.content)["breadcrumb"]] == [town.path]
    time_machine.move_to(NOW + timedelta(minutes=1), tick=False)
    make_incident(dataset["i1"].community, dataset["i1"].category, created_at=NOW - timedelta(hours=1))
    tasks.dashboard_fill()
    fresh = client.get(URL + "&place=" + town.path, headers={"if-none-match": as_town["ETag"]})
    assert fresh.status_code == 200 and fresh["ETag"] != as_town["ETag"]
    assert json.loads(fresh.content)["figures"][0]["value"] == 7


def test_an_entry_packs_and_unpacks_to_the_same_bytes():
    entry = payload.Entry.of('{"a":"邛崃 \n 1"}'.encode())
    back = payload.Entry.unpack(entry.pack())
    assert back == entry and gzip.decompress(back.gz) == entry.plain


@pytest.mark.django_db
def test_a_hit_with_the_identity_cache_on_reads_nothing_from_the_database(
    identity_cache, client, victor, tina, dataset, django_assert_num_queries
):
    tasks.dashboard_fill()
    town = dataset["i1"].community.town
    for viewer, url in ((victor, URL), (tina, URL + "&place=" + town.path)):
        client.force_login(viewer)
        client.get(url)  # the viewer's first request loads their identity into the cache
        # as production serves a warmed answer: the session, user, grants and devices from
        # the identity cache, the stamp, names and body from the dashboard's (0 queries)
        with django_assert_num_queries(0):
            hit = client.get(url, headers={"accept-encoding": "gzip"})
        assert hit.status_code == 200 and hit["Content-Encoding"] == "gzip"
        with django_assert_num_queries(0):
            assert client.get(url, headers={"if-none-match": hit["ETag"]}).status_code == 304
