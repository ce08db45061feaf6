"""REST API for the registry. Reads are scoped by the access module; every write calls a
service (which checks the grant, validates, audits)."""

from __future__ import annotations

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from qionglai.core.api import ActionPermission

from . import selectors, serializers, services
from .models import Community


class ServiceUpdateMixin:
    """PUT/PATCH: validate with the update serializer, change through the service, answer with
    the full representation of what the service returned (one read, nothing serialized twice)."""

    output_serializer_class = None

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        body = self.get_serializer(self.get_object(), data=request.data, partial=partial)
        body.is_valid(raise_exception=True)
        instance = self.run_update(body.instance, body.validated_data)
        return Response(self.output_serializer_class(instance).data)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)


class ScopedViewSet(viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated, ActionPermission]
    read_action = "projects.view"


class TownViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, ScopedViewSet):
    serializer_class = serializers.TownSerializer
    filterset_fields = ["kind"]

    def get_queryset(self):
        return selectors.town_list_for(user=self.request.user)

    def perform_create(self, serializer):
        serializer.instance = services.town_create(actor=self.request.user, **serializer.validated_data)


class CommunityFilter(filters.FilterSet):
    town = filters.NumberFilter(field_name="town_id")
    top_class = filters.CharFilter(method="filter_top_class", label="一级分类编码")
    name = filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Community
        fields = ["town", "kind", "is_demonstration", "is_future_park", "community_class"]

    def filter_top_class(self, queryset, name, value):
        return queryset.filter(community_class__parent__code=value) | queryset.filter(
            community_class__code=value
        )


class CommunityViewSet(
    ServiceUpdateMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    ScopedViewSet,
):
    filterset_class = CommunityFilter
    output_serializer_class = serializers.CommunitySerializer

    def get_serializer_class(self):
        if self.action in {"update", "partial_update"}:
            return serializers.CommunityUpdateSerializer
        return serializers.CommunitySerializer

    def get_queryset(self):
        return selectors.community_list_for(user=self.request.user)

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        town = data.pop("town")
        serializer.instance = services.community_create(actor=self.request.user, town=town, **data)

    def run_update(self, instance, data):
        return services.community_update(actor=self.request.user, community=instance, **data)


class CompoundViewSet(
    ServiceUpdateMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    ScopedViewSet,
):
    filterset_fields = ["community", "kind", "governance_mode", "is_smart", "renovated"]
    output_serializer_class = serializers.CompoundSerializer

    def get_serializer_class(self):
        if self.action in {"update", "partial_update"}:
            return serializers.CompoundUpdateSerializer
        return serializers.CompoundSerializer

    def get_queryset(self):
        return selectors.compound_list_for(user=self.request.user)

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        community = data.pop("community")
        serializer.instance = services.compound_create(actor=self.request.user, community=community, **data)

    def run_update(self, instance, data):
        return services.compound_update(actor=self.request.user, compound=instance, **data)


class PlanViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    serializer_class = serializers.PlanSerializer
    filterset_fields = ["community", "year", "phase"]

    def get_queryset(self):
        return selectors.plan_list_for(user=self.request.user).order_by("-year", "path")


class ProblemViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, ScopedViewSet
):
    serializer_class = serializers.ProblemSerializer
    filterset_fields = ["compound", "status", "source"]
    read_action = None  # residents may raise problems; the list itself is scoped below

    def get_queryset(self):
        return selectors.problem_list_for(user=self.request.user).order_by("-created_at", "-id")

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        serializer.instance = services.problem_raise(
            actor=self.request.user,
            compound=data["compound"],
            title=data["title"],
            description=data.get("description", ""),
            source=data.get("source", "resident"),
        )

    @extend_schema(request=serializers.ProblemStatusSerializer, responses=serializers.ProblemSerializer)
    @action(detail=True, methods=["post"], url_path="status")
    def set_status(self, request, pk=None):
        problem = self.get_object()
        body = serializers.ProblemStatusSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        problem = services.problem_set_status(actor=request.user, problem=problem, **body.validated_data)
        return Response(serializers.ProblemSerializer(problem).data)


class RenewalViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, ScopedViewSet
):
    serializer_class = serializers.RenewalSerializer
    filterset_fields = ["community", "compound", "kind", "status", "scene"]

    def get_queryset(self):
        return selectors.renewal_list_for(user=self.request.user).order_by("-created_at", "-id")

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        community = data.pop("community")
        serializer.instance = services.renewal_create(actor=self.request.user, community=community, **data)

    @extend_schema(request=serializers.AdvanceSerializer, responses=serializers.RenewalSerializer)
    @action(detail=True, methods=["post"])
    def advance(self, request, pk=None):
        project = self.get_object()
        body = serializers.AdvanceSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        project = services.renewal_advance(
            actor=request.user, project=project, note=body.validated_data["note"]
        )
        return Response(serializers.RenewalSerializer(project).data)


class FundViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    serializer_class = serializers.FundSerializer
    read_action = "projects.fund_view"

    def get_queryset(self):
        return selectors.fund_list_for(user=self.request.user)

    @extend_schema(responses=serializers.FundEntrySerializer(many=True))
    @action(detail=True, methods=["get"])
    def entries(self, request, pk=None):
        fund = self.get_object()
        page = self.paginate_queryset(selectors.fund_entries_for(user=request.user, fund=fund))
        return self.get_paginated_response(serializers.FundEntrySerializer(page, many=True).data)

    @extend_schema(request=serializers.FundInflowSerializer, responses={201: serializers.FundEntrySerializer})
    @action(detail=True, methods=["post"])
    def inflow(self, request, pk=None):
        fund = self.get_object()
        body = serializers.FundInflowSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        entry = services.fund_inflow(actor=request.user, fund=fund, **body.validated_data)
        return Response(serializers.FundEntrySerializer(entry).data, status=status.HTTP_201_CREATED)


class SupermarketViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    serializer_class = serializers.SupermarketSerializer
    read_action = "projects.fund_view"

    def get_queryset(self):
        return selectors.supermarket_list_for(user=self.request.user).order_by("path")

    @extend_schema(methods=["GET"], responses=serializers.SupermarketMonthSerializer(many=True))
    @extend_schema(
        methods=["POST"],
        request=serializers.SupermarketMonthSerializer,
        responses={201: serializers.SupermarketMonthSerializer},
    )
    @action(detail=True, methods=["get", "post"])
    def months(self, request, pk=None):
        supermarket = self.get_object()
        if request.method == "GET":
            page = self.paginate_queryset(supermarket.months.order_by("-month"))
            return self.get_paginated_response(serializers.SupermarketMonthSerializer(page, many=True).data)
        body = serializers.SupermarketMonthSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        record = services.supermarket_record_month(
            actor=request.user, supermarket=supermarket, **body.validated_data
        )
        return Response(serializers.SupermarketMonthSerializer(record).data, status=status.HTTP_201_CREATED)
