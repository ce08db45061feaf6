"""A city replaces the demo's illustrative boundaries with its own GeoJSON: every feature goes
through grid_set_boundary, or — if any feature is bad — nothing is written and each bad
feature is named."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from grids.boundary_import import (
    MSG_DENIED,
    MSG_NO_PATH,
    MSG_NOT_COLLECTION,
    MSG_NOT_JSON,
    MSG_NOT_MICRO,
    MSG_TWICE,
    MSG_UNKNOWN_GRID,
    boundaries_import_geojson,
)
from grids.geo import MSG_GEOMETRY
from grids.models import GridBoundary
from grids.selectors import locate_micro_grid
from qionglai.core.models import AuditEvent

from .conftest import square


def feature(path, geometry, name=""):
    return {"type": "Feature", "properties": {"path": path, "name": name}, "geometry": geometry}


def collection(*features):
    return {"type": "FeatureCollection", "features": list(features)}


@pytest.mark.django_db
def test_it_imports_every_boundary_as_a_new_version_through_the_service(carol, micro_a1, micro_a2):
    data = json.dumps(
        collection(
            feature(micro_a1.path, square(103.500, 30.500)), feature(micro_a2.path, square(103.502, 30.500))
        )
    )
    report = boundaries_import_geojson(actor=carol, data=data.encode())
    assert report.ok and report.written == 2
    current = GridBoundary.objects.get(grid=micro_a1, valid_to__isnull=True)
    assert current.version == 2
    assert GridBoundary.objects.filter(grid=micro_a1, valid_to__isnull=False).count() == 1
    assert locate_micro_grid(lat=30.501, lng=103.501).grid == micro_a1
    assert locate_micro_grid(lat=30.411, lng=103.461) is None  # the old square is history
    assert AuditEvent.objects.filter(action="grid.boundary", actor=carol).count() == 2


@pytest.mark.django_db
def test_it_names_each_bad_feature_and_writes_nothing(carol, micro_a1, micro_a2, micro_b1):
    general = micro_a1.parent
    data = collection(
        feature(micro_a1.path, square(103.500, 30.500)),  # good, but the file fails as a whole
        feature("510183.999.x01.g01.m01", square(103.5, 30.5)),
        feature(general.path, square(103.5, 30.5), name="一般网格"),
        feature(micro_a2.path, {"type": "Point", "coordinates": [103.5, 30.5]}, name="点"),
        {"type": "Feature", "properties": {}, "geometry": square(103.5, 30.5)},
        feature(micro_b1.path, square(103.5, 30.5)),  # another community: not carol's
        feature(micro_a1.path, square(103.6, 30.6)),
    )
    report = boundaries_import_geojson(actor=carol, data=data)
    assert not report.ok and report.written == 0
    assert report.errors == [
        (2, "510183.999.x01.g01.m01", MSG_UNKNOWN_GRID.format(path="510183.999.x01.g01.m01")),
        (3, general.name, MSG_NOT_MICRO.format(path=general.path)),
        (4, "点", MSG_GEOMETRY),
        (5, "", MSG_NO_PATH),
        (6, micro_b1.name, MSG_DENIED.format(path=micro_b1.name)),
        (7, micro_a1.name, MSG_TWICE.format(first=1, path=micro_a1.name)),
    ]
    assert GridBoundary.objects.filter(grid=micro_a1).count() == 1


@pytest.mark.django_db
def test_it_refuses_a_file_that_is_not_a_feature_collection(carol):
    assert boundaries_import_geojson(actor=carol, data=b"{not json").errors == [(0, "", MSG_NOT_JSON)]
    assert boundaries_import_geojson(actor=carol, data={"type": "Feature"}).errors == [
        (0, "", MSG_NOT_COLLECTION)
    ]


@pytest.mark.django_db
def test_the_command_reports_each_bad_feature_and_exits_non_zero(carol, micro_a1, tmp_path):
    good = tmp_path / "good.geojson"
    good.write_text(json.dumps(collection(feature(micro_a1.path, square(103.5, 30.5)))))
    out = io.StringIO()
    call_command("import_grid_boundaries", str(good), "--as", "carol", stdout=out)
    assert "已导入 1 个微网格边界" in out.getvalue()
    bad = tmp_path / "bad.geojson"
    bad.write_text(json.dumps(collection(feature("510183.999.x01.g01.m01", square(103.5, 30.5)))))
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 个要素有误"):
        call_command("import_grid_boundaries", str(bad), "--as", "carol", stderr=err)
    assert "第 1 个要素" in err.getvalue()
