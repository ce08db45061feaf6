"""Every state change in grids (design §2): import from here."""

from ._common import remembered
from .escalation import auto_close_scan, escalation_notify, escalation_scan
from .grids import grid_mode_switch, grid_set_boundary, roster_assign, roster_retire
from .incidents import (
    incident_accept,
    incident_auto_close,
    incident_decide_extension,
    incident_dispatch,
    incident_evaluate,
    incident_me_too,
    incident_reject,
    incident_report,
    incident_report_notify,
    incident_request_extension,
    incident_resolve,
    incident_return,
    incident_verify,
)
from .photos import MAX_PHOTOS, incident_photo_process, photos_drain, photos_resend_stuck

__all__ = [
    "MAX_PHOTOS",
    "auto_close_scan",
    "escalation_notify",
    "escalation_scan",
    "grid_mode_switch",
    "grid_set_boundary",
    "incident_accept",
    "incident_auto_close",
    "incident_decide_extension",
    "incident_dispatch",
    "incident_evaluate",
    "incident_me_too",
    "incident_photo_process",
    "incident_reject",
    "incident_report",
    "incident_report_notify",
    "incident_request_extension",
    "incident_resolve",
    "incident_return",
    "incident_verify",
    "photos_drain",
    "photos_resend_stuck",
    "remembered",
    "roster_assign",
    "roster_retire",
]
