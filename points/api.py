"""REST API for points (/api/v1/points/…). Lists are scoped (a resident sees only their own
accounts and orders; a merchant only its own orders); every write calls a service."""

from __future__ import annotations

import uuid

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import fields as drf_fields
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from projects.models import Community
from qionglai.core.api import ActionPermission, id_or_404
from qionglai.users import access

from . import selectors, serializers, services
from .models import Claim, Merchant, ObjectionStatus, Offer, Rule
from .services.periods import local_year


def _key(request, body: dict) -> str:
    return request.headers.get("Idempotency-Key") or body.get("idempotency_key") or ""


class AccountViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """我的积分账户 (staff: also the accounts in their area)."""

    serializer_class = serializers.PointsAccountSerializer
    permission_classes = [IsAuthenticated]
    filterset_fields = ["holder_class", "kind"]

    def get_queryset(self):
        return selectors.account_list_for(user=self.request.user)

    def get_serializer(self, *args, **kwargs):
        instance = args[0] if args else None
        if instance is not None:
            items = instance if isinstance(instance, list | tuple) else [instance]
            ids = [a.pk for a in items if hasattr(a, "pk")]
            kwargs.setdefault("context", self.get_serializer_context())
            kwargs["context"]["scores"] = selectors.scores(account_ids=ids, year=local_year())
        return super().get_serializer(*args, **kwargs)

    @extend_schema(responses=serializers.PointsEntrySerializer(many=True))
    @action(detail=True, methods=["get"])
    def entries(self, request, pk=None):
        account = self.get_object()
        page = self.paginate_queryset(selectors.history(account=account))
        return self.get_paginated_response(serializers.PointsEntrySerializer(page, many=True).data)


class OfferViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Offers open for ordering now, the holder's own community first."""

    serializer_class = serializers.PointsOfferSerializer
    permission_classes = [IsAuthenticated]
    filterset_fields = ["merchant"]

    def get_queryset(self):
        mine = selectors.my_accounts(user=self.request.user).first()
        return selectors.offers_open(path=mine.path if mine else None)

    @property
    def throttle_scope(self):
        # ordering (spending points) has its own rate (settings "redemption")
        return "redemption" if getattr(self, "action", None) == "order" else None

    @extend_schema(
        request=serializers.OfferOrderInput, responses={201: serializers.PointsRedemptionSerializer}
    )
    @action(detail=True, methods=["post"])
    def order(self, request, pk=None):
        offer = self.get_object()
        body = serializers.OfferOrderInput(data=request.data)
        body.is_valid(raise_exception=True)
        mine = selectors.my_accounts(user=request.user)
        account_id = body.validated_data.get("account")
        account = (
            mine.filter(pk=account_id).first()
            if account_id
            else mine.filter(holder_class="resident").first() or mine.first()
        )
        if account is None:
            raise PermissionDenied("您还没有可用的积分账户")
        redemption = services.redemption_order(
            actor=request.user,
            offer=offer,
            account=account,
            quantity=body.validated_data["quantity"],
            idempotency_key=_key(request, body.validated_data) or uuid.uuid4().hex,
        )
        return Response(
            serializers.PointsRedemptionSerializer(redemption).data, status=status.HTTP_201_CREATED
        )


class RedemptionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A holder's orders (with codes) — or, for a counter operator, the merchant's orders."""

    permission_classes = [IsAuthenticated]
    filterset_fields = ["status"]

    def _as_merchant(self) -> list:
        """The counter's view (?as=merchant): only the orders of the user's own merchants."""
        if self.request.query_params.get("as") != "merchant":
            return []
        if not hasattr(self, "_merchant_cache"):
            self._merchant_cache = services.merchants_of(self.request.user)
            if not self._merchant_cache:
                raise PermissionDenied("您不是任何商户的核销员")
        return self._merchant_cache

    def get_queryset(self):
        merchants = self._as_merchant()
        if merchants:
            return selectors.merchant_redemptions(merchants=merchants)
        return selectors.my_redemptions(user=self.request.user)

    def get_serializer_class(self):
        return (
            serializers.CounterRedemptionSerializer
            if self._as_merchant()
            else serializers.PointsRedemptionSerializer
        )

    @extend_schema(request=None, responses=serializers.PointsRedemptionSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        redemption = self.get_object()
        redemption = services.redemption_cancel(actor=request.user, redemption=redemption)
        return Response(self.get_serializer_class()(redemption).data)


class CounterLookupView(APIView):
    """柜台：输入核销码，查看要交付的物品（不核销）。"""

    permission_classes = [IsAuthenticated, ActionPermission]
    read_action = "points.merchant_verify"

    @extend_schema(request=serializers.CounterCodeInput, responses=serializers.CounterRedemptionSerializer)
    def post(self, request):
        body = serializers.CounterCodeInput(data=request.data)
        body.is_valid(raise_exception=True)
        redemption = services.redemption_find_for_counter(
            actor=request.user, code=body.validated_data["code"]
        )
        return Response(serializers.CounterRedemptionSerializer(redemption).data)


class CounterVerifyView(APIView):
    """柜台：核销（积分结算给本店）。"""

    permission_classes = [IsAuthenticated, ActionPermission]
    read_action = "points.merchant_verify"

    @extend_schema(request=serializers.CounterCodeInput, responses=serializers.CounterRedemptionSerializer)
    def post(self, request):
        body = serializers.CounterCodeInput(data=request.data)
        body.is_valid(raise_exception=True)
        redemption = services.redemption_verify(actor=request.user, code=body.validated_data["code"])
        return Response(serializers.CounterRedemptionSerializer(redemption).data)


class DonationView(APIView):
    permission_classes = [IsAuthenticated]

    throttle_scope = "donation"

    @extend_schema(request=serializers.PointsDonationInput, responses={201: serializers.PointsDonationOutput})
    def post(self, request):
        body = serializers.PointsDonationInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        source = get_object_or_404(selectors.my_accounts(user=request.user), pk=data["from_account"])
        if data.get("to_pool"):
            get_object_or_404(Community, path=data["to_pool"])
            target = services.pool_for(data["to_pool"])
        else:
            target = services.donation_recipient(phone=data.get("to_phone", ""), code=data.get("to_code", ""))
        donation = services.donation_make(
            actor=request.user,
            from_account=source,
            to_account=target,
            amount=data["amount"],
            note=data["note"],
            idempotency_key=data["idempotency_key"],
        )
        return Response(
            {
                "id": donation.pk,
                "amount": donation.amount,
                "to": services.recipient_label(target),
                "balance": source.balance,
            },
            status=status.HTTP_201_CREATED,
        )


class RuleViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = serializers.PointsRuleSerializer
    permission_classes = [IsAuthenticated]
    filterset_fields = ["list_kind"]
    pagination_class = None

    def get_queryset(self):
        return Rule.objects.filter(active=True).order_by("list_kind", "order", "code")


class ClaimViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = serializers.PointsClaimSerializer
    permission_classes = [IsAuthenticated]
    filterset_fields = ["status"]

    def get_queryset(self):
        user = self.request.user
        if access.can_anywhere(user, "points.view"):
            return selectors.claim_list_for(user=user)
        return selectors.my_claims(user=user)

    @extend_schema(request=serializers.PointsClaimInput, responses={201: serializers.PointsClaimSerializer})
    def create(self, request):
        body = serializers.PointsClaimInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        account = get_object_or_404(selectors.account_list_for(user=request.user), pk=data["account"])
        rule = get_object_or_404(Rule.objects.filter(active=True), pk=data["rule"])
        claim = services.claim_submit(
            actor=request.user,
            account=account,
            rule=rule,
            quantity=data["quantity"],
            note=data["note"],
            evidence=data.get("evidence"),
        )
        return Response(serializers.PointsClaimSerializer(claim).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=serializers.PointsClaimReviewInput, responses=serializers.PointsClaimSerializer)
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        claim = self.get_object()
        body = serializers.PointsClaimReviewInput(data=request.data)
        body.is_valid(raise_exception=True)
        claim = services.claim_review(actor=request.user, claim=claim, **body.validated_data)
        return Response(serializers.PointsClaimSerializer(claim).data)

    @extend_schema(
        request=serializers.PointsObjectionInput,
        responses={
            201: inline_serializer(
                "PointsObjectionLodged",
                {
                    "id": drf_fields.IntegerField(),
                    "status": drf_fields.ChoiceField(choices=ObjectionStatus.choices),
                },
            )
        },
    )
    @action(detail=True, methods=["post"], url_path="object")
    def object_(self, request, pk=None):
        # anyone in the community may object to a claim in publicity, not only those who can list it
        claim = get_object_or_404(Claim, pk=id_or_404(pk))
        body = serializers.PointsObjectionInput(data=request.data)
        body.is_valid(raise_exception=True)
        objection = services.claim_object(
            actor=request.user, claim=claim, reason=body.validated_data["reason"]
        )
        return Response({"id": objection.pk, "status": objection.status}, status=status.HTTP_201_CREATED)


class RankingView(APIView):
    permission_classes = [IsAuthenticated, ActionPermission]
    read_action = "points.view"

    @extend_schema(parameters=[serializers.PointsRankingQuery], responses=serializers.PointsRankingSerializer)
    def get(self, request):
        query = serializers.PointsRankingQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        paths = access.grant_paths(request.user, "points.view")
        path = data.get("path") or (paths[0] if paths else "")
        if not access.can(request.user, "points.view", path):
            raise PermissionDenied(access.DENIED_MESSAGE)
        ranked, excluded = selectors.ranking(
            user=request.user,
            holder_class=data["holder_class"],
            path=path,
            year=data.get("year") or local_year(),
        )
        return Response(
            {
                "path": path,
                "results": serializers.PointsRankRowSerializer(ranked, many=True).data,
                "excluded": [
                    {"account": e.account.pk, "name": e.account.name, "reason": e.reason} for e in excluded
                ],
            }
        )


class MerchantOfferViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """A counter operator's own offers (community staff: the merchants in their area):
    list, add, restock. Stock moves only through the service (never below zero)."""

    serializer_class = serializers.PointsOfferSerializer
    permission_classes = [IsAuthenticated, ActionPermission]
    read_action = "points.offer_manage"

    def _merchants(self):
        user = self.request.user
        own = services.merchants_of(user)
        q = access.scope_q(user, "points.manage")
        staff = list(Merchant.objects.filter(q)) if q is not None else []
        return {m.pk: m for m in [*own, *staff]}

    def get_queryset(self):
        return (
            Offer.objects.filter(merchant_id__in=list(self._merchants()))
            .select_related("merchant")
            .order_by("merchant_id", "id")
        )

    @extend_schema(request=serializers.MerchantOfferInput, responses={201: serializers.PointsOfferSerializer})
    def create(self, request):
        body = serializers.MerchantOfferInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        merchant = self._merchants().get(data.pop("merchant"))
        if merchant is None:
            raise PermissionDenied(access.DENIED_MESSAGE)
        offer = services.offer_create(actor=request.user, merchant=merchant, **data)
        return Response(serializers.PointsOfferSerializer(offer).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=serializers.RestockInput, responses=serializers.PointsOfferSerializer)
    @action(detail=True, methods=["post"])
    def restock(self, request, pk=None):
        offer = get_object_or_404(self.get_queryset(), pk=id_or_404(pk))
        body = serializers.RestockInput(data=request.data)
        body.is_valid(raise_exception=True)
        offer = services.offer_restock(actor=request.user, offer=offer, change=body.validated_data["change"])
        return Response(serializers.PointsOfferSerializer(offer).data)
