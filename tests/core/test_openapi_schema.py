"""The OpenAPI document tells the truth (issue #12 §5): every operation has its app's tag and a
Chinese summary, documents the error responses in the one error shape, and the six places
where the document and the responses disagreed now agree (schemathesis checks the responses
themselves: test_schemathesis.py)."""

import re

import pytest
from drf_spectacular.generators import SchemaGenerator

from qionglai.core.schema import TAGS

CHINESE = re.compile(r"[\u4e00-\u9fff]")
ERROR_REF = {"$ref": "#/components/schemas/Error"}


@pytest.fixture(scope="module")
def document():
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(document):
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def test_every_operation_has_its_apps_tag_and_a_chinese_summary(document):
    missing = [
        (method, path, operation["operationId"])
        for path, method, operation in operations(document)
        if len(operation.get("tags", [])) != 1
        or operation["tags"][0] not in TAGS
        or not CHINESE.search(operation.get("summary") or "")
    ]
    assert missing == []  # a new endpoint needs its summary in qionglai/core/schema_summaries.py
    assert len(list(operations(document))) > 100


def test_every_tag_is_described_in_chinese(document):
    tags = document["tags"]
    assert {t["name"] for t in tags} == {"core", "users", "projects", "grids", "consultation", "points"}
    assert all(CHINESE.search(t["description"]) for t in tags)


def test_every_operation_documents_its_error_responses(document):
    assert document["components"]["schemas"]["Error"]["required"] == ["message", "fields"]
    for path, method, operation in operations(document):
        responses = operation["responses"]
        expected = {"400", "429"} | ({"409"} if method != "get" else set())
        if {} not in operation.get("security", []):
            expected |= {"401", "403", "404"}
        assert expected <= set(responses), (method, path)
        for code in expected:
            assert responses[code]["content"]["application/json"]["schema"] == ERROR_REF


def schema_of(document, path, method="get", code="200"):
    return document["paths"][path][method]["responses"][code]["content"]["application/json"]["schema"]


def component(document, ref_holder):
    return document["components"]["schemas"][ref_holder["$ref"].rsplit("/", 1)[1]]


def test_the_ranking_is_one_object_with_its_rows(document):
    ranking = component(document, schema_of(document, "/api/v1/points/ranking/"))
    assert set(ranking["properties"]) == {"path", "results", "excluded"}


@pytest.mark.parametrize("path", ["/api/v1/incidents/{id}/events/", "/api/v1/incidents/duplicates/"])
def test_events_and_duplicates_are_plain_lists(document, path):
    assert schema_of(document, path)["type"] == "array"


def test_duplicates_document_the_hint_they_return(document):
    hint = component(document, schema_of(document, "/api/v1/incidents/duplicates/")["items"])
    assert set(hint["properties"]) == {
        "id",
        "category",
        "description",
        "status_display",
        "distance_m",
        "me_too_count",
    }


def test_supermarket_months_list_is_paginated_and_shows_the_contribution(document):
    page = component(document, schema_of(document, "/api/v1/supermarkets/{id}/months/"))
    month = component(document, page["properties"]["results"]["items"])
    assert "contribution" in month["properties"]
    assert "201" in document["paths"]["/api/v1/supermarkets/{id}/months/"]["post"]["responses"]


@pytest.mark.parametrize("field", ["tier", "due_stage", "satisfaction"])
def test_an_unset_choice_of_an_incident_is_documented(document, field):
    schemas = document["components"]["schemas"]
    refs = [r["$ref"].rsplit("/", 1)[1] for r in schemas["Incident"]["properties"][field]["oneOf"]]
    assert any("" in schemas[name]["enum"] for name in refs)


@pytest.mark.parametrize("field", ["parent", "department"])
def test_a_category_without_parent_or_department_is_documented_as_null(document, field):
    assert document["components"]["schemas"]["Category"]["properties"][field]["nullable"] is True


def test_the_summary_table_names_only_operations_that_exist(document):
    from qionglai.core.schema_summaries import SUMMARIES

    ids = {operation["operationId"] for _, _, operation in operations(document)}
    assert set(SUMMARIES) - ids == set()
