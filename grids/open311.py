"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2/) over the same services.

Endpoints are named as the spec names them, in JSON and XML. Reading is public but carries no
personal data (no reporter, no photos of people) and leaves out sensitive categories
(disputes, public security, vulnerable people). Only reports staff have accepted are published
(design §12: reviewed content only); phone, ID and room numbers in the resident's free text are
masked, and coordinates are rounded to ≈100 m unless the `api_key` of a client whose user may
view incidents at that place is given. Filing needs an API key, and the request is filed as
the key's user through `incident_report`, so the access module still decides.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from xml.etree.ElementTree import Element, SubElement, tostring

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from qionglai.core.api import validation_fields
from qionglai.core.errors import ApplicationError
from qionglai.users import access
from qionglai.users.privacy import mask_text, round_coordinate

from . import services
from .models import Category, Channel, Incident, Open311Client, Status, Urgency

# Not published through Open311: their descriptions are about people, not places.
PRIVATE_TOP_CATEGORIES = {"01", "03", "09"}
CLOSED = {Status.CLOSED, Status.REJECTED}
# not yet reviewed by staff, or refused: never published
UNREVIEWED = {Status.REPORTED, Status.REJECTED}
MAX_LIST = 1000


def _public_categories():
    return (
        Category.objects.filter(active=True, parent__isnull=False)
        .exclude(parent__code__in=PRIVATE_TOP_CATEGORIES)
        .select_related("parent", "department")
        .order_by("code")
    )


def _xml(root: str, item: str, rows: list[dict]) -> bytes:
    top = Element(root)
    for row in rows:
        node = SubElement(top, item)
        for key, value in row.items():
            child = SubElement(node, key)
            if isinstance(value, list):
                for v in value:
                    SubElement(child, "value").text = str(v)
            elif value is not None:
                child.text = "true" if value is True else "false" if value is False else str(value)
    return b'<?xml version="1.0" encoding="utf-8"?>' + tostring(top, encoding="utf-8")


def _respond(fmt: str, root: str, item: str, rows, status: int = 200):
    if fmt == "xml":
        return HttpResponse(_xml(root, item, rows), content_type="text/xml; charset=utf-8", status=status)
    return JsonResponse(rows, safe=False, status=status, json_dumps_params={"ensure_ascii": False})


def _error(fmt: str, code: int, description: str):
    return _respond(fmt, "errors", "error", [{"code": code, "description": description}], status=code)


def _dt(value) -> str | None:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else None


def _service(c: Category) -> dict:
    return {
        "service_code": c.code,
        "service_name": c.name,
        "description": f"{c.parent.name} / {c.name}",
        "metadata": False,
        "type": "realtime",
        "keywords": c.parent.name,
        "group": c.parent.name,
    }


def _reader(request):
    """The user behind a valid `api_key` query parameter, if any (else an anonymous reader)."""
    key = (request.GET.get("api_key") or "").strip()
    if not key:
        return None
    client = Open311Client.objects.filter(api_key=key, active=True).select_related("user").first()
    return client.user if client is not None else None


def _request(inc: Incident, reader=None) -> dict:
    exact = reader is not None and access.can(reader, "grids.incident_view", inc.path)
    return {
        "service_request_id": str(inc.pk),
        "status": "closed" if inc.status in CLOSED else "open",
        "status_notes": inc.get_status_display(),
        "service_name": inc.category.name,
        "service_code": inc.category.code,
        "description": mask_text(inc.description),
        "agency_responsible": inc.assigned_department.name
        if inc.assigned_department_id
        else inc.community.name,
        "service_notice": "",
        "requested_datetime": _dt(inc.created_at),
        "updated_datetime": _dt(inc.updated_at),
        "expected_datetime": _dt(inc.resolve_due or inc.accept_due),
        "address": mask_text(inc.address),
        "address_id": "",
        "zipcode": "",
        "lat": (str(inc.lat) if exact else round_coordinate(inc.lat)) if inc.lat is not None else None,
        "long": (str(inc.lng) if exact else round_coordinate(inc.lng)) if inc.lng is not None else None,
        "media_url": "",
    }


def _public_requests():
    return (
        Incident.objects.exclude(category__parent__code__in=PRIVATE_TOP_CATEGORIES)
        .exclude(status__in=UNREVIEWED)
        .select_related("category", "assigned_department", "community")
    )


@require_GET
def discovery(request, fmt: str):
    endpoint = (
        request.build_absolute_uri(reverse("open311:services", kwargs={"fmt": "json"})).rsplit("/", 1)[0]
        + "/"
    )
    doc = {
        "changeset": "2026-01-01T00:00:00+08:00",
        "contact": "邛崃市委社治委",
        "key_service": "向社区治理部门申请 API Key",
        "endpoints": [
            {
                "specification": "http://wiki.open311.org/GeoReport_v2",
                "url": endpoint,
                "changeset": "2026-01-01T00:00:00+08:00",
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    if fmt == "xml":
        top = Element("discovery")
        for key in ("changeset", "contact", "key_service"):
            SubElement(top, key).text = doc[key]
        endpoints = SubElement(top, "endpoints")
        for e in doc["endpoints"]:
            node = SubElement(endpoints, "endpoint")
            for key in ("specification", "url", "changeset", "type"):
                SubElement(node, key).text = e[key]
            formats = SubElement(node, "formats")
            for f in e["formats"]:
                SubElement(formats, "format").text = f
        return HttpResponse(
            b'<?xml version="1.0" encoding="utf-8"?>' + tostring(top, encoding="utf-8"),
            content_type="text/xml",
        )
    return JsonResponse(doc, json_dumps_params={"ensure_ascii": False})


@require_GET
def service_list(request, fmt: str):
    return _respond(fmt, "services", "service", [_service(c) for c in _public_categories()])


@require_GET
def service_definition(request, code: str, fmt: str):
    if not _public_categories().filter(code=code).exists():
        return _error(fmt, 404, "service_code not found")
    # no extra attributes: category, place and description are all a report needs
    if fmt == "xml":
        top = Element("service_definition")
        SubElement(top, "service_code").text = code
        SubElement(top, "attributes")
        return HttpResponse(
            b'<?xml version="1.0" encoding="utf-8"?>' + tostring(top, encoding="utf-8"),
            content_type="text/xml",
        )
    return JsonResponse({"service_code": code, "attributes": []})


@csrf_exempt
@require_http_methods(["GET", "POST"])
def request_list(request, fmt: str):
    if request.method == "POST":
        return _create(request, fmt)
    qs = _public_requests()
    params = request.GET
    if ids := params.get("service_request_id"):
        qs = qs.filter(pk__in=[int(i) for i in ids.split(",") if i.strip().isdigit()])
    else:
        if codes := params.get("service_code"):
            qs = qs.filter(category__code__in=codes.split(","))
        if st := params.get("status"):
            wanted = set(st.split(","))
            if wanted == {"open"}:
                qs = qs.exclude(status__in=CLOSED)
            elif wanted == {"closed"}:
                qs = qs.filter(status__in=CLOSED)
        start = parse_datetime(params.get("start_date") or "") if params.get("start_date") else None
        end = parse_datetime(params.get("end_date") or "") if params.get("end_date") else None
        if (params.get("start_date") and start is None) or (params.get("end_date") and end is None):
            return _error(fmt, 400, "start_date/end_date must be W3C datetimes")
        # spec default: the last 90 days
        start = start or (timezone.now() - timedelta(days=90))
        qs = qs.filter(created_at__gte=_aware(start))
        if end:
            qs = qs.filter(created_at__lte=_aware(end))
    reader = _reader(request)
    rows = [_request(i, reader) for i in qs.order_by("-created_at", "-id")[:MAX_LIST]]
    return _respond(fmt, "service_requests", "request", rows)


def _aware(value: datetime) -> datetime:
    return value if timezone.is_aware(value) else timezone.make_aware(value)


def _create(request, fmt: str):
    data = request.POST
    key = (data.get("api_key") or "").strip()
    client = (
        Open311Client.objects.filter(api_key=key, active=True).select_related("user").first() if key else None
    )
    if client is None:
        return _error(fmt, 403, "invalid api_key")
    code = data.get("service_code") or ""
    category = _public_categories().filter(code=code).first()
    if category is None:
        return _error(fmt, 400, "service_code not found")
    if not data.get("lat") or not data.get("long"):
        return _error(fmt, 400, "lat and long are required")
    try:
        incident = services.incident_report(
            actor=client.user,
            category=category,
            urgency=Urgency.BLUE,
            description=data.get("description") or category.name,
            lat=data.get("lat"),
            lng=data.get("long"),
            address=data.get("address_string") or "",
            channel=Channel.ONLINE,
            source_ref=f"open311:{client.pk}",
        )
    except ValidationError as error:
        fields = validation_fields(error)
        return _error(fmt, 400, "；".join(m for ms in fields.values() for m in ms))
    except PermissionDenied as error:
        return _error(fmt, 403, str(error) or "forbidden")
    except ApplicationError as error:
        return _error(fmt, 400, error.message)
    rows = [
        {
            "service_request_id": str(incident.pk),
            "token": str(incident.token),
            "service_notice": "已受理上报，将按时限办理",
            "account_id": None,
        }
    ]
    return _respond(fmt, "service_requests", "request", rows, status=201)


@require_GET
def request_detail(request, pk: int, fmt: str):
    inc = _public_requests().filter(pk=pk).first()
    if inc is None:
        return _error(fmt, 404, "service_request_id not found")
    return _respond(fmt, "service_requests", "request", [_request(inc, _reader(request))])


@require_GET
def token_detail(request, token, fmt: str):
    inc = _public_requests().filter(token=token).first()
    if inc is None:
        return _error(fmt, 404, "token not found")
    return _respond(
        fmt, "service_requests", "request", [{"service_request_id": str(inc.pk), "token": str(inc.token)}]
    )
