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


def test_our_scripts_and_styles_are_minified_as_collected_and_vendored_files_left_alone(tmp_path):
    from django.core.files.base import ContentFile

    from qionglai.core.staticstorage import StaticStorage

    storage = StaticStorage(location=tmp_path, base_url="/static/")
    storage._save("js/page.js", ContentFile(b"// why it is so\nvar answer = 42;\n"))
    storage._save("css/page.css", ContentFile(b"/* a note */\n.a {\n  color: red;\n}\n"))
    vendored = b"/*! lib */\nvar  kept = 1; // as shipped\n"
    storage._save("vendor/lib-1.0/lib.js", ContentFile(vendored))
    assert (tmp_path / "js/page.js").read_text() == "var answer=42;"
    assert (tmp_path / "css/page.css").read_text() == ".a{color:red}"
    assert (tmp_path / "vendor/lib-1.0/lib.js").read_bytes() == vendored


def test_collected_static_files_have_hashed_names_a_ten_year_cache_and_a_gzip_copy(tmp_path, settings):
    """As production serves them (collectstatic, then WhiteNoise from STATIC_ROOT): the page links
    a hashed name, which is cached for ten years (a release changes the name, not the file), and
    a browser that accepts gzip gets the compressed copy."""
    from django.core.management import call_command
    from django.templatetags.static import static
    from django.test import Client

    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "qionglai.core.staticstorage.StaticStorage"},  # production's
    }
    settings.STATIC_ROOT = tmp_path
    settings.WHITENOISE_USE_FINDERS = False
    settings.WHITENOISE_AUTOREFRESH = False
    call_command("collectstatic", "--noinput", verbosity=0)
    url = static("js/grids-report.js")
    assert url != "/static/js/grids-report.js" and url.startswith("/static/js/grids-report.")  # hashed
    response = Client().get(url, HTTP_ACCEPT_ENCODING="gzip")  # a new client: WhiteNoise reads STATIC_ROOT
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert "max-age=315360000" in response["Cache-Control"] and "immutable" in response["Cache-Control"]
    body = gzip.decompress(b"".join(response.streaming_content)).decode()
    assert "idempotency_key" in body  # the outbox's script itself
