"""Form pieces every app uses.

Date inputs: `<input type="date">` accepts only an ISO value (2026-12-31) and shows it in the
reader's own locale. Django's DateInput renders the first of the language's input formats —
for zh-hans `2026/12/31` — which the browser rejects, so the field shows empty and saving
again erases the date. Every date and datetime field on a page uses these widgets (a test
walks every form in every app to hold that)."""

from __future__ import annotations

from django import forms

ISO_DATE = "%Y-%m-%d"
ISO_DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


class IsoDateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format=ISO_DATE)


class IsoDateTimeInput(forms.DateTimeInput):
    """A `datetime-local` input; the value is in the current time zone (Django's
    DateTimeField converts it both ways)."""

    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format=ISO_DATETIME_LOCAL)


def date_field(**kwargs) -> forms.DateField:
    return forms.DateField(widget=IsoDateInput(), **kwargs)


def datetime_field(**kwargs) -> forms.DateTimeField:
    return forms.DateTimeField(widget=IsoDateTimeInput(), **kwargs)
