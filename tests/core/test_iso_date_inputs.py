"""Every date and datetime input on the site renders an ISO value (2026-12-31,
2026-12-31T19:30), the only form `<input type="date">` / `datetime-local` accepts. With the
zh-hans formats Django would render 2026/12/31, the browser would show an empty field, and
saving the form again would erase the date."""

from __future__ import annotations

import importlib
import sys
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django import forms
from django.apps import apps
from django.conf import settings
from django.utils import translation

from qionglai.core.forms import IsoDateInput, IsoDateTimeInput

# the project's own apps: under the repository but not the installed packages (a virtualenv
# made inside the repository, as `make` does, holds django.contrib under BASE_DIR too)
PROJECT_APPS = [
    a
    for a in apps.get_app_configs()
    if a.path.startswith(str(settings.BASE_DIR)) and not a.path.startswith(sys.prefix)
]


def _all_forms() -> list[type[forms.BaseForm]]:
    for app in PROJECT_APPS:
        for module in ("forms", "views"):
            try:
                importlib.import_module(f"{app.name}.{module}")
            except ModuleNotFoundError as error:
                if error.name != f"{app.name}.{module}":
                    raise
    found, todo = [], [forms.BaseForm]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            todo.append(sub)
            if any(sub.__module__.startswith(a.name + ".") for a in PROJECT_APPS):
                found.append(sub)
    return found


def _date_fields():
    for form in _all_forms():
        for name, field in form.base_fields.items():
            if isinstance(field, forms.DateField | forms.DateTimeField):
                yield f"{form.__module__}.{form.__name__}.{name}", field


DATE_FIELDS = dict(_date_fields())


def test_the_walk_finds_the_sites_date_fields():
    # the known ones, so this file cannot pass by finding nothing
    assert {
        "consultation.forms.ImplementationForm.deadline",
        "consultation.forms.MeetingForm.scheduled_at",
        "projects.forms.MonthForm.month",
    } <= set(DATE_FIELDS)


@pytest.mark.parametrize("name", sorted(DATE_FIELDS))
def test_every_date_field_renders_an_iso_value_in_chinese(name):
    field = DATE_FIELDS[name]
    with translation.override("zh-hans"):
        if isinstance(field, forms.DateTimeField):
            assert isinstance(field.widget, IsoDateTimeInput), name
            value = datetime(2026, 12, 31, 19, 30, tzinfo=ZoneInfo(settings.TIME_ZONE))
            html = field.widget.render("x", field.prepare_value(value))
            assert 'type="datetime-local"' in html and 'value="2026-12-31T19:30"' in html, html
        else:
            assert isinstance(field.widget, IsoDateInput), name
            html = field.widget.render("x", date(2026, 12, 31))
            assert 'type="date"' in html and 'value="2026-12-31"' in html, html
