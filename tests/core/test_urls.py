"""The project URL conf mounts every app where its clients expect it."""

import pytest

pytestmark = pytest.mark.django_db


def test_it_serves_open311_at_the_specs_own_path(client):
    response = client.get("/open311/v2/services.json")
    assert response.status_code == 200
    assert isinstance(response.json(), list)
    assert client.get("/open311/v2/services.xml")["Content-Type"].startswith(("application/xml", "text/xml"))


@pytest.mark.parametrize("prefix", ["/grids/", "/consultation/", "/points/", "/registry/"])
def test_it_asks_anonymous_visitors_to_log_in_on_every_app(client, prefix):
    response = client.get(prefix)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def _api_names_and_params():
    from django.urls import get_resolver

    resolver = get_resolver()
    for name, entries in resolver.reverse_dict.lists():
        if not isinstance(name, str):
            continue
        for possibilities, _pattern, _defaults, _converters in entries:
            for _result, params in possibilities:
                yield name, tuple(params)


def test_every_api_path_resolves_to_its_own_view_whatever_comes_first():
    # the URL conf orders the apps' API patterns for speed (busiest first); that is safe only
    # while no pattern answers another's path, which this checks for every named API route
    from django.urls import NoReverseMatch, resolve, reverse

    checked = 0
    for name, params in set(_api_names_and_params()):
        kwargs = {p: ("json" if p == "format" else "1") for p in params}
        try:
            url = reverse(name, kwargs=kwargs)
        except NoReverseMatch:
            continue
        if not url.startswith("/api/v1/"):
            continue
        match = resolve(url)
        assert match.url_name == name, (url, match.url_name, name)
        checked += 1
    assert checked > 100  # every app's router routes, with and without the format suffix
