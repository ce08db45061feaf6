"""REST API for incidents, categories and grids. Lists are scoped through the selectors (the
access module); every write is one service call, whose domain errors the shared exception
handler turns into 400 {"message", "fields"}."""

from __future__ import annotations

from urllib import parse

from django.core.exceptions import EmptyResultSet, ValidationError
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import BasePagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from projects.models import Department
from qionglai.core.api import ActionPermission, ContentNegotiation

from . import selectors, serializers, services
from .filters import IncidentFilterSet
from .models import ExtensionRequest, Grid, GridKind
from .pagination import compiled_where


def _body(serializer_class, request):
    body = serializer_class(data=request.data)
    body.is_valid(raise_exception=True)
    return body.validated_data


class IncidentPagination(BasePagination):
    """Keyset pages (grids/pagination.py): `cursor` from `next` (older) or `previous` (newer),
    `page_size` up to 100; `count` is exact up to 1,000, else null with `count_display`
    「1000+」 (an unfiltered city-wide list shows the planner's estimate)."""

    page_size, max_page_size = 20, 100

    def _size(self, request) -> int:
        try:
            return min(max(int(request.query_params.get("page_size", self.page_size)), 1), self.max_page_size)
        except ValueError:
            return self.page_size

    def paginate_queryset(self, queryset, request, view=None):
        self.request, self._link_parts = request, None
        whole = view is not None and getattr(view, "whole_table", False)
        deferred = view is not None and getattr(view, "deferred", False)
        # rows already in IncidentSerializer's shape (selectors.incident_list_page)
        self.page = selectors.incident_list_page(
            queryset=queryset,
            cursor=request.query_params.get("cursor"),
            size=self._size(request),
            whole_table=whole,
            deferred=deferred,
        )
        return self.page.rows

    def paginate_shape(self, shape, request):
        """paginate_queryset() from a compiled WHERE (selectors.ListShape)."""
        self.request, self._link_parts = request, None
        self.page = selectors.incident_list_page_where(
            shape=shape, cursor=request.query_params.get("cursor"), size=self._size(request)
        )
        return self.page.rows

    _link_parts = None

    def _link(self, cursor):
        """DRF's replace_query_param(request.build_absolute_uri(), "cursor", cursor), the same
        steps, with the URL split and its query parsed once for both of the page's links."""
        if cursor is None:
            return None
        if self._link_parts is None:
            scheme, netloc, path, query, fragment = parse.urlsplit(self.request.build_absolute_uri())
            self._link_parts = scheme, netloc, path, parse.parse_qs(query, keep_blank_values=True), fragment
        scheme, netloc, path, params, fragment = self._link_parts
        query = parse.urlencode(sorted({**params, "cursor": [cursor]}.items()), doseq=True)
        return parse.urlunsplit((scheme, netloc, path, query, fragment))

    def get_paginated_response(self, data):
        return Response(
            {
                "count": self.page.count,
                "count_display": self.page.count_display,
                "next": self._link(self.page.older),
                "previous": self._link(self.page.newer),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["count", "count_display", "results"],
            "properties": {
                "count": {"type": "integer", "nullable": True},
                "count_display": {"type": "string"},
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }


class IncidentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """网格事件. Filters: the IncidentFilterSet (place, status, open, category, urgency, tier,
    department, channel, created_from/created_to, overdue, supervised, mine, q); keyset pages."""

    serializer_class = serializers.IncidentSerializer
    permission_classes = [IsAuthenticated]
    filterset_class = IncidentFilterSet
    pagination_class = IncidentPagination
    content_negotiation_class = ContentNegotiation

    @property
    def throttle_scope(self):
        # filing reports has its own rate (settings "report"); reads and actions do not
        return "report" if getattr(self, "action", None) == "create" else None

    def list(self, request, *args, **kwargs):
        # The page's rows come out of the paginator already shaped as IncidentSerializer
        # shapes them (the schema still reads serializer_class); no serializer per row.
        # The WHERE of a user's filters is compiled once and reused (selectors.list_shape_key).
        key = selectors.list_shape_key(user=request.user, params=request.query_params)
        shape = selectors.list_shape(key)
        if shape is None:
            queryset = self.get_queryset()
            if self.filtered:  # without a filter parameter the filterset would change nothing
                queryset = self.filter_queryset(queryset)  # a bad value: 400, nothing kept
            try:
                where = compiled_where(queryset)
            except EmptyResultSet:
                where = selectors.EMPTY
            if where is None:  # not a plain filter of the one table: the ORM runs it
                return self.get_paginated_response(self.paginate_queryset(queryset))
            shape = selectors.ListShape(
                where=where if where == selectors.EMPTY else (where[0], tuple(where[1])),
                whole_table=self.whole_table,
                deferred=self.deferred,
            )
            selectors.remember_list_shape(key, shape)
        return self.get_paginated_response(self.paginator.paginate_shape(shape, request))

    def get_queryset(self):
        user, params = self.request.user, self.request.query_params
        if self.action == "list":
            applied = IncidentFilterSet.applied(params)
            self.filtered = bool(applied)
            self.whole_table = not self.filtered and selectors.sees_everything(user)
            # ids first (pagination.keyset_rows_where): which pages, see selectors.ids_first
            self.deferred = selectors.ids_first(user, params, filtered=self.filtered, applied=applied)
        # an unfiltered list reads a community grant by community_id (selectors._staff_q)
        by_community = self.action == "list" and not self.filtered
        return selectors.visible_for(user=user, mine=params.get("mine") == "1", by_community=by_community)

    def get_object(self):
        pk = str(self.kwargs["pk"])
        if not pk.isdigit() or len(pk) > 18:  # /incidents/abc/ is absent, not a ValueError
            raise Http404
        incident = selectors.incident_detail_for(user=self.request.user, pk=self.kwargs["pk"])
        if incident is None:
            raise Http404
        return incident

    def _out(self, incident, code=status.HTTP_200_OK):
        incident = selectors.incident_detail_for(user=self.request.user, pk=incident.pk) or incident
        return Response(serializers.IncidentSerializer(incident).data, status=code)

    # 201 for a new report, 200 for a replay of one already recorded (same idempotency key)
    @extend_schema(
        request=serializers.ReportInput,
        responses={201: serializers.IncidentSerializer, 200: serializers.IncidentSerializer},
    )
    def create(self, request):
        data = _body(serializers.ReportInput, request)
        if data["me_too_of"]:
            # "me too" instead of a second report; the service checks the actor may report there
            # looked up among what the caller may see, like GET and /me-too/ (issue #12 §3)
            original = selectors.incident_detail_for(user=request.user, pk=data["me_too_of"])
            if original is None:
                raise Http404
            incident = services.incident_me_too(
                actor=request.user, incident=original, note=data["description"]
            )
            return self._out(incident, status.HTTP_200_OK)
        micro_grid = None
        if data["micro_grid"]:
            micro_grid = (
                Grid.objects.select_related("community")
                .filter(pk=data["micro_grid"], kind=GridKind.MICRO)
                .first()
            )
            if micro_grid is None:
                raise ValidationError({"micro_grid": "请选择一个微网格"})
        incident = services.incident_report(
            actor=request.user,
            category=data["category"],
            urgency=data["urgency"],
            description=data["description"],
            address=data["address"],
            lat=data["lat"],
            lng=data["lng"],
            micro_grid=micro_grid,
            channel=data["channel"],
            photos=data["photos"],
            # a resent report (the page's outbox, a client retrying) answers the incident its
            # first send created, 200 instead of 201
            idempotency_key=request.headers.get("Idempotency-Key")
            or request.data.get("idempotency_key")
            or "",
        )
        # The reporter always sees her own report, and the service hands it back with what the
        # serializer reads already loaded: no second read of the row.
        code = status.HTTP_200_OK if getattr(incident, "replayed", False) else status.HTTP_201_CREATED
        return Response(serializers.IncidentSerializer(incident).data, status=code)

    @extend_schema(request=serializers.AcceptInput, responses=serializers.IncidentSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        d = _body(serializers.AcceptInput, request)
        return self._out(services.incident_accept(actor=request.user, incident=self.get_object(), **d))

    @extend_schema(request=serializers.ReasonInput, responses=serializers.IncidentSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        d = _body(serializers.ReasonInput, request)
        return self._out(services.incident_reject(actor=request.user, incident=self.get_object(), **d))

    @extend_schema(request=serializers.DispatchInput, responses=serializers.IncidentSerializer)
    @action(detail=True, methods=["post"], url_path="dispatch")
    def dispatch_to(self, request, pk=None):
        d = _body(serializers.DispatchInput, request)
        department = None
        if d.get("department"):
            department = Department.objects.filter(code=d["department"]).first()
            if department is None:
                raise ValidationError({"department": "无效的部门编码"})
        incident = services.incident_dispatch(
            actor=request.user,
            incident=self.get_object(),
            tier=d.get("tier"),
            department=department,
            note=d["note"],
        )
        return self._out(incident)

    @extend_schema(request=serializers.ReasonInput, responses=serializers.IncidentSerializer)
    @action(detail=True, methods=["post"], url_path="return")
    def send_back(self, request, pk=None):
        d = _body(serializers.ReasonInput, request)
        return self._out(services.incident_return(actor=request.user, incident=self.get_object(), **d))

    @extend_schema(request=serializers.ExtensionInput, responses={201: serializers.IncidentSerializer})
    @action(detail=True, methods=["post"])
    def extension(self, request, pk=None):
        d = _body(serializers.ExtensionInput, request)
        incident = self.get_object()
        services.incident_request_extension(actor=request.user, incident=incident, **d)
        return self._out(incident, status.HTTP_201_CREATED)

    @extend_schema(request=serializers.ExtensionDecisionInput, responses=serializers.IncidentSerializer)
    @action(detail=True, methods=["post"], url_path="extension-decision")
    def extension_decision(self, request, pk=None):
        d = _body(serializers.ExtensionDecisionInput, request)
        incident = self.get_object()
        ext = ExtensionRequest.objects.filter(pk=d["extension"], incident=incident).first()
        if ext is None:
            raise Http404
        services.incident_decide_extension(
            actor=request.user, extension=ext, approve=d["approve"], note=d["note"]
        )
        return self._out(incident)

    @extend_schema(request=serializers.ResolveInput, responses=serializers.IncidentSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        d = _body(serializers.ResolveInput, request)
        return self._out(services.incident_resolve(actor=request.user, incident=self.get_object(), **d))

    @extend_schema(request=serializers.VerifyInput, responses=serializers.IncidentSerializer)
    @action(detail=True, methods=["post"])
    def verify(self, request, pk=None):
        d = _body(serializers.VerifyInput, request)
        return self._out(services.incident_verify(actor=request.user, incident=self.get_object(), **d))

    @extend_schema(request=serializers.EvaluateInput, responses=serializers.IncidentSerializer)
    @action(detail=True, methods=["post"])
    def evaluate(self, request, pk=None):
        d = _body(serializers.EvaluateInput, request)
        return self._out(services.incident_evaluate(actor=request.user, incident=self.get_object(), **d))

    @extend_schema(request=None, responses=serializers.IncidentSerializer)
    @action(detail=True, methods=["post"], url_path="me-too")
    def me_too(self, request, pk=None):
        return self._out(services.incident_me_too(actor=request.user, incident=self.get_object()))

    @extend_schema(responses=serializers.ReporterContactSerializer)
    @action(detail=True, methods=["get"], url_path="reporter-contact")
    def reporter_contact(self, request, pk=None):
        """The reporter's phone and the exact place: handlers and community staff only, logged."""
        from .services.contact import incident_reporter_contact

        contact = incident_reporter_contact(actor=request.user, incident=self.get_object())
        return Response(serializers.ReporterContactSerializer(contact).data)

    @extend_schema(responses=serializers.EventSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)  # the whole history, one plain list
    def events(self, request, pk=None):
        incident = self.get_object()
        events = incident.events.select_related("actor").order_by("at", "id")
        return Response(serializers.EventSerializer(events, many=True).data)

    @extend_schema(
        parameters=[serializers.DuplicateQuery], responses=serializers.DuplicateHintSerializer(many=True)
    )
    @action(detail=False, methods=["get"], pagination_class=None)  # a few nearby hints, one plain list
    def duplicates(self, request):
        q = serializers.DuplicateQuery(data=request.query_params)
        q.is_valid(raise_exception=True)
        category = selectors.categories().filter(code=q.validated_data["category"]).first()
        if category is None:
            return Response([])
        found = selectors.duplicates_for(
            category=category, lat=q.validated_data["lat"], lng=q.validated_data["lng"]
        )
        visible = set(
            selectors.incident_list_for(user=request.user)
            .filter(pk__in=[i.pk for i in found])
            .values_list("pk", flat=True)
        )
        # Only a hint (id, category, distance, state) for nearby incidents the user cannot
        # open: enough to press "me too", no personal data.
        return Response(
            [
                {
                    "id": i.pk,
                    "category": i.category.code,
                    "description": i.description[:60] if i.pk in visible else "",
                    "status_display": i.get_status_display(),
                    "distance_m": i.distance_m,
                    "me_too_count": i.me_too_count,
                }
                for i in found
            ]
        )


class CategoryViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = serializers.CategorySerializer
    permission_classes = [IsAuthenticated]
    pagination_class = None

    def get_queryset(self):
        return selectors.categories()


class GridViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = serializers.GridSerializer
    permission_classes = [IsAuthenticated, ActionPermission]
    read_action = "grids.view"
    filterset_fields = ["kind", "community", "parent", "mode"]

    def get_queryset(self):
        return selectors.grid_list_for(user=self.request.user)
