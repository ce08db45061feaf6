"""The one incident filter (django-filter) the API, the list page, the export and the
dashboard's links share: the same parameter names everywhere, validated once.

Each filter is served by an index that also keeps the list's order (created_at, id); the EXPLAIN
test in tests/grids/test_list_plans.py fails if any of them falls back to a sequential scan.
"""

from __future__ import annotations

import copy
from datetime import datetime, time, timedelta
from urllib.parse import urlencode

import django_filters
from django import forms
from django.db import connection
from django.db.models import BooleanField, F, Func, Q, Subquery
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone

from projects.models import Community, Department
from qionglai.users import access
from qionglai.users.models import PATH_VALIDATOR

from .models import OPEN_STATES, Category, Channel, Grid, Incident, Status, Tier, Urgency

MSG_PLACE = "请选择有效的地点"
MSG_DATES = "结束日期不能早于开始日期"
YES = [("1", "是")]


class UnderPath(Func):
    """`path` is `p` or below it, as ONE range of the text_pattern_ops path index:
    `path ~>=~ 'p' AND path ~<~ 'p/'`. Paths are digits, lower-case letters and dots
    (PATH_VALIDATOR), and '/' is the byte after '.', so the range holds exactly `p` and
    `p.…` — the rows of `path = 'p' OR path LIKE 'p.%'` — but as a single index condition:
    the planner can walk it in order and stop early (the bounded count reads 1,001 index
    entries instead of building a bitmap of a town's 50,000), or answer from the index
    alone, which the OR's BitmapOr never can."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, path: str):
        super().__init__(F("path"))
        self.path = path

    def as_sql(self, compiler, connection, **extra):
        column, params = compiler.compile(self.source_expressions[0])
        if connection.vendor == "postgresql":
            return f"({column} ~>=~ %s AND {column} ~<~ %s)", [*params, self.path, *params, self.path + "/"]
        return f"({column} = %s OR {column} LIKE %s)", [*params, self.path, *params, self.path + ".%"]


class InArray(Func):
    """`column = ANY(ARRAY(subquery))`: PostgreSQL runs the subquery once (an InitPlan) and
    uses the array as an index condition, so it can sit in an OR beside the path ranges (a
    BitmapOr), where `IN (subquery)` becomes a hashed filter over the whole table."""

    arg_joiner = " = ANY(ARRAY"
    template = "(%(expressions)s))"
    output_field = BooleanField()
    conditional = True


def _day_start(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


class _SharedFields(dict):
    """Form fields a form takes as they are: its `deepcopy(base_fields)` gives a new dict of
    the same field objects. Only for forms that validate and never change a field."""

    def __deepcopy__(self, memo):
        return dict(self)


class IncidentFilterForm(forms.Form):
    def clean(self):
        data = super().clean()
        start, end = data.get("created_from"), data.get("created_to")
        if start and end and end < start:
            self.add_error("created_to", MSG_DATES)
        return data


class IncidentFilterSet(django_filters.FilterSet):
    place = django_filters.CharFilter(label="地点", method="filter_place")
    # distinct=False: the statuses are one column of the row, nothing to de-duplicate, and a
    # DISTINCT made the bounded count count one distinct constant (「共 1 件」 for two statuses)
    status = django_filters.MultipleChoiceFilter(label="状态", choices=Status.choices, distinct=False)
    open = django_filters.ChoiceFilter(label="办理中", choices=YES, empty_label="不限", method="filter_open")
    category = django_filters.CharFilter(label="类别", method="filter_category")
    urgency = django_filters.ChoiceFilter(label="紧急程度", choices=Urgency.choices, empty_label="全部")
    tier = django_filters.ChoiceFilter(label="处置层级", choices=Tier.choices, empty_label="全部")
    department = django_filters.CharFilter(label="承办部门", method="filter_department")
    channel = django_filters.ChoiceFilter(label="来源渠道", choices=Channel.choices, empty_label="全部")
    created_from = django_filters.DateFilter(
        label="上报日期从", method="filter_from", widget=forms.DateInput(attrs={"type": "date"})
    )
    created_to = django_filters.DateFilter(
        label="至", method="filter_to", widget=forms.DateInput(attrs={"type": "date"})
    )
    overdue = django_filters.ChoiceFilter(
        label="已超时", choices=YES, empty_label="不限", method="filter_overdue"
    )
    supervised = django_filters.ChoiceFilter(
        label="升级督办", choices=YES, empty_label="不限", method="filter_supervised"
    )
    # the selector reads `mine` itself: "what I reported" is a visibility of its own
    mine = django_filters.ChoiceFilter(
        label="我上报的", choices=YES, empty_label="不限", method="filter_noop"
    )
    q = django_filters.CharFilter(label="编号或描述", method="filter_q")
    # the older name of `place`, still in links others build (the dashboard's)
    path = django_filters.CharFilter(label="地点路径", method="filter_place")

    class Meta:
        model = Incident
        fields: list[str] = []
        form = IncidentFilterForm

    # Built on every list request: django-filter's deep copy of the sixteen filters and its
    # form class made per instance cost more than the page's SQL. Each filter is copied
    # shallowly instead (its `method` re-bound to the copy, its form field built afresh) and
    # the form class, which depends only on the declarations, is made once per class.
    def __init__(self, data=None, queryset=None, *, request=None, prefix=None):
        if queryset is None:
            queryset = self._meta.model._default_manager.all()
        self.is_bound = data is not None
        self.data = data or QueryDict()
        self.queryset = queryset
        self.request = request
        self.form_prefix = prefix
        self.filters = {}
        for name, declared in self.base_filters.items():
            filter_ = copy.copy(declared)
            filter_.__dict__.pop("_field", None)
            filter_.model = queryset.model
            filter_.parent = self
            if filter_.method is not None:
                filter_.method = filter_.method  # a FilterMethod bound to this copy
            self.filters[name] = filter_

    def get_form_class(self):
        cls = type(self)
        if "_form_class" not in cls.__dict__:
            cls._form_class = super().get_form_class()
        return cls._form_class

    def _shared_form_class(self):
        cls = type(self)
        if "_shared_form" not in cls.__dict__:
            shared = type(f"Shared{cls.__name__}Form", (self.get_form_class(),), {})
            shared.base_fields = _SharedFields(shared.base_fields)
            cls._shared_form = shared
        return cls._shared_form

    @property
    def form(self):
        # Validation only reads the form fields, so the API and the export share them (a
        # form's own deep copy of its sixteen fields was a tenth of a request); the page,
        # whose pickers change them, gets its own copies in for_page().
        if not hasattr(self, "_form"):
            data = self.data if self.is_bound else None
            self._form = self._shared_form_class()(data, prefix=self.form_prefix)
        return self._form

    @classmethod
    def applies_to(cls, data) -> bool:
        """Whether `data` sets any filter (else the filterset would pass the rows unchanged)."""
        return bool(cls.applied(data))

    @classmethod
    def applied(cls, data) -> set[str]:
        """The names of the filters `data` sets (a value other than empty)."""
        getlist = getattr(data, "getlist", None)
        found = set()
        for name in cls.base_filters:
            values = getlist(name) if getlist else [data.get(name)]
            if any(value not in (None, "") for value in values):
                found.add(name)
        return found

    def for_page(self, user) -> IncidentFilterSet:
        """Gives the page's form its pickers (three small queries the API does not need)."""
        self._form = self.get_form_class()(self.data if self.is_bound else None, prefix=self.form_prefix)
        fields = self.form.fields
        fields["status"].widget = forms.CheckboxSelectMultiple(choices=Status.choices)
        fields["place"].widget = forms.Select(choices=place_choices(user, self.data.get("place", "")))
        fields["category"].widget = forms.Select(choices=category_choices())
        fields["department"].widget = forms.Select(choices=[("", "全部"), *_names().department_choices])
        return self

    def filter_place(self, queryset, name, value):
        try:
            PATH_VALIDATOR(value)
        except forms.ValidationError:
            raise forms.ValidationError(MSG_PLACE) from None
        return queryset.filter(UnderPath(value))

    def filter_open(self, queryset, name, value):
        return queryset.filter(status__in=OPEN_STATES)

    def filter_category(self, queryset, name, value):
        # a parent code covers its children. On PostgreSQL the ids are an array the subquery
        # fills once (an InitPlan), so the WHERE stays a plain filter of the incident table:
        # the API sends page and count as one statement (pagination.compiled_where), as for
        # every other filter; `IN (subquery)` joined grids_category into the query instead
        ids = Category.objects.filter(Q(code=value) | Q(parent__code=value)).order_by().values("id")
        if connection.vendor != "postgresql":
            return queryset.filter(category_id__in=Subquery(ids))
        return queryset.filter(InArray(F("category_id"), Subquery(ids)))

    def filter_department(self, queryset, name, value):
        # a scalar subquery: PostgreSQL sees one department id, so (department, created_at) is
        # an ordered index range rather than a join followed by a sort
        dept = Department.objects.filter(code=value).values("id")[:1]
        return queryset.filter(assigned_department_id=Subquery(dept))

    def filter_from(self, queryset, name, value):
        return queryset.filter(created_at__gte=_day_start(value))

    def filter_to(self, queryset, name, value):
        return queryset.filter(created_at__lt=_day_start(value + timedelta(days=1)))

    def filter_overdue(self, queryset, name, value):
        return queryset.filter(status__in=OPEN_STATES, due_at__lt=timezone.now())

    def filter_supervised(self, queryset, name, value):
        return queryset.filter(supervised=True)

    def filter_noop(self, queryset, name, value):
        return queryset

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if value.isdigit() and len(value) < 19:
            return queryset.filter(pk=int(value))
        return queryset.filter(description__icontains=value[:50]) if value else queryset

    @property
    def active(self) -> dict[str, str]:
        """The filters in force, as the query string carries them (for links and the export)."""
        if not self.is_bound:
            return {}
        return {k: v for k, v in self.data.items() if k in self.filters and v not in ("", None)}


def _names():
    # the pickers come from the list's cached name maps (selectors.list_names: loaded once per
    # process, dropped on a save, at most NAMES_TTL old), not from three queries per page
    from .selectors import list_names

    return list_names()


def category_choices() -> list[tuple[str, str]]:
    return [("", "全部"), *_names().category_choices]


def incident_list_url(**params) -> str:
    """A link to the incident list with these filters (the dashboard's tiles use it), e.g.
    incident_list_url(place=community.path, overdue=1)."""
    unknown = set(params) - set(IncidentFilterSet.base_filters)
    if unknown:
        raise ValueError(f"unknown incident filters: {sorted(unknown)}")
    query = urlencode({k: v for k, v in params.items() if v not in (None, "", False)}, doseq=True)
    return reverse("grids:incident-list") + (f"?{query}" if query else "")


def place_choices(user, current: str = "") -> list[tuple[str, str]]:
    """Towns › communities the user may see, and the grids of the community being looked at
    (names, never paths, on the page)."""
    paths = access.grant_paths(user, "grids.incident_view")
    everything = access.is_admin(user)

    def scoped(qs):
        if everything:
            return qs
        q = Q(pk__in=[])
        for p in paths:
            q |= Q(path=p) | Q(path__startswith=p + ".")
            # a grant below a community still names its town and community as ancestors
            parts = p.split(".")
            q |= Q(path__in=[".".join(parts[:i]) for i in range(2, len(parts))])
        return qs.filter(q)

    def visible(path: str) -> bool:
        # what scoped() selects, for one path: under a grant, or an ancestor (town or below) of one
        return everything or any(
            access.covers(p, path) or (path.count(".") >= 1 and p.startswith(path + ".")) for p in paths
        )

    names = _names()
    choices: list[tuple[str, str]] = [("", "全部地点")]
    towns = {path: name for path, name in names.towns if visible(path)}
    communities = [(path, name, town) for path, name, town in names.community_places if visible(path)]
    for town_path, town_name in towns.items():
        choices.append((town_path, town_name))
        choices += [(path, f"{town_name} › {name}") for path, name, town in communities if town == town_path]
    here = next((c for c in communities if current and access.covers(c[0], current)), None)
    community = (
        None if here is None else Community.objects.select_related("town").filter(path=here[0]).first()
    )
    if community is not None:
        grids = scoped(Grid.objects.filter(community=community, retired_at__isnull=True)).select_related(
            "parent"
        )
        prefix = f"{community.town.name} › {community.name}"
        for g in grids.order_by("path"):
            label = f"{prefix} › {g.parent.name} › {g.name}" if g.parent_id else f"{prefix} › {g.name}"
            choices.append((g.path, label))
    return choices
