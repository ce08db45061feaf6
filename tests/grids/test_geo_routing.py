import pytest
from django.core.exceptions import ValidationError

from grids import geo, services
from grids.models import Incident
from grids.selectors import locate_micro_grid

from .conftest import square

L_SHAPE = {  # concave: the notch (1..2, 1..2) is outside
    "type": "Polygon",
    "coordinates": [[[0, 0], [2, 0], [2, 1], [1, 1], [1, 2], [0, 2], [0, 0]]],
}
WITH_HOLE = {
    "type": "Polygon",
    "coordinates": [
        [[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]],
        [[1, 1], [3, 1], [3, 3], [1, 3], [1, 1]],
    ],
}


@pytest.mark.parametrize(
    ("geometry", "point", "inside"),
    [
        (L_SHAPE, (0.5, 0.5), True),
        (L_SHAPE, (1.5, 1.5), False),  # in the bbox, outside the polygon
        (L_SHAPE, (0.5, 1.5), True),
        (L_SHAPE, (-0.1, 0.5), False),
        (L_SHAPE, (0.5, 1.0), True),  # the ray passes exactly through vertex (1, 1)
        (WITH_HOLE, (0.5, 0.5), True),
        (WITH_HOLE, (2, 2), False),  # inside the hole
        (
            {
                "type": "MultiPolygon",
                "coordinates": [square(0, 0, 1)["coordinates"], square(5, 5, 1)["coordinates"]],
            },
            (5.5, 5.5),
            True,
        ),
    ],
)
def test_ray_casting_decides_containment(geometry, point, inside):
    assert geo.contains(geometry, *point) is inside


def test_it_refuses_a_malformed_boundary():
    with pytest.raises(ValidationError):
        geo.validate_geometry({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]})
    with pytest.raises(ValidationError):
        geo.validate_geometry({"type": "Point", "coordinates": [0, 0]})


@pytest.mark.django_db
def test_it_routes_a_point_to_the_micro_grid_that_contains_it(micro_a1, micro_a2, micro_b1):
    assert locate_micro_grid(lat=30.4111, lng=103.4611).grid == micro_a1
    assert locate_micro_grid(lat=30.4111, lng=103.4631).grid == micro_a2
    assert locate_micro_grid(lat=30.4211, lng=103.4711).grid == micro_b1
    assert locate_micro_grid(lat=30.5, lng=103.5) is None


@pytest.mark.django_db
def test_a_report_outside_every_grid_asks_for_a_grid(alice, category, micro_a1):
    with pytest.raises(ValidationError) as err:
        services.incident_report(
            actor=alice, category=category, urgency="blue", description="x", lat="30.5", lng="103.5"
        )
    assert err.value.message_dict == {"location": ["该位置不在任何微网格内，请选择事件所在的微网格"]}
    # choosing the grid by hand is the way out
    inc = services.incident_report(
        actor=alice,
        category=category,
        urgency="blue",
        description="x",
        lat="30.5",
        lng="103.5",
        micro_grid=micro_a1,
    )
    assert inc.micro_grid == micro_a1


@pytest.mark.django_db
def test_an_incident_keeps_its_grid_when_boundaries_are_redrawn(alice, carol, category, micro_a1, micro_a2):
    inc = services.incident_report(
        actor=alice, category=category, urgency="blue", description="x", lat="30.4111", lng="103.4611"
    )
    first = inc.boundary
    services.grid_set_boundary(actor=carol, grid=micro_a2, geometry=square(103.459, 30.409, 0.006))
    services.grid_set_boundary(actor=carol, grid=micro_a1, geometry=square(103.0, 30.0, 0.001))
    inc = Incident.objects.get(pk=inc.pk)
    assert inc.micro_grid == micro_a1 and inc.boundary_id == first.pk
    first.refresh_from_db()
    assert first.valid_to is not None and micro_a1.boundaries.count() == 2
    assert locate_micro_grid(lat=30.4111, lng=103.4611).grid == micro_a2  # new reports follow the new map
