"""Reading a reporter's personal data (design §3): their phone number and the exact place are
shown only to those who need them — the incident's handlers and the community staff over it —
and every read is logged (who, whose, when) in the audit trail."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction

from qionglai.core.audit import audit_record
from qionglai.users import access

from ..models import Incident
from ..transitions import can_handle

MSG_CONTACT_DENIED = "只有该事件的处置人和社区工作人员可以查看上报人联系方式"


def incident_reporter_contact(*, actor, incident: Incident) -> dict:
    """The reporter's name, phone and the incident's exact address and position.
    Pre: actor handles the incident or may read reporters' contacts at its place.
    Post: one audit row `personal_data.read` naming the actor, the reporter and the incident."""
    if not (access.can(actor, "grids.reporter_contact", incident.path) or can_handle(actor, incident)):
        raise PermissionDenied(MSG_CONTACT_DENIED)
    reporter = incident.reporter
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="personal_data.read",
            target=reporter if reporter is not None else incident,
            path=incident.path,
            summary=f"查看事件 #{incident.pk} 上报人联系方式",
            data={"incident": incident.pk, "fields": ["phone", "address", "position"]},
        )
    return {
        "name": reporter.display_name if reporter else "",
        "phone": (reporter.phone or "") if reporter else "",
        "address": incident.address,
        "lat": incident.lat,
        "lng": incident.lng,
    }
