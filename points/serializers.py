from rest_framework import serializers

from .models import Account, Claim, Entry, HolderClass, Offer, Redemption, Rule


class PointsAccountSerializer(serializers.ModelSerializer):
    holder_class_label = serializers.CharField(source="get_holder_class_display", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    score = serializers.SerializerMethodField(help_text="本年度评先评优积分")

    class Meta:
        model = Account
        fields = [
            "id",
            "name",
            "holder_class",
            "holder_class_label",
            "path",
            "balance",
            "score",
            "status",
            "status_label",
            "suspended_until",
        ]

    def get_score(self, obj) -> int:
        return self.context.get("scores", {}).get(obj.pk, 0)


class PointsEntrySerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    memo = serializers.CharField(source="transaction.memo", read_only=True)
    on_behalf = serializers.BooleanField(source="transaction.on_behalf", read_only=True)
    recorded_by = serializers.SerializerMethodField()

    class Meta:
        model = Entry
        fields = [
            "id",
            "kind",
            "kind_label",
            "amount",
            "score_delta",
            "balance_after",
            "memo",
            "on_behalf",
            "recorded_by",
            "created_at",
        ]

    def get_recorded_by(self, obj) -> str:
        actor = obj.transaction.actor
        return actor.display_name if actor else "系统"


class PointsMerchantBrief(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField()
    kind_label = serializers.CharField(source="get_kind_display")
    address = serializers.CharField()


class PointsOfferSerializer(serializers.ModelSerializer):
    merchant = PointsMerchantBrief(read_only=True)

    class Meta:
        model = Offer
        fields = [
            "id",
            "title",
            "description",
            "price",
            "stock",
            "per_person_limit",
            "valid_from",
            "valid_until",
            "merchant",
        ]


class OfferOrderInput(serializers.Serializer):
    account = serializers.IntegerField(required=False, help_text="用哪个积分账户兑换；默认居民账户")
    quantity = serializers.IntegerField(min_value=1, max_value=99, default=1)
    idempotency_key = serializers.CharField(
        max_length=80, required=False, help_text="也可用 Idempotency-Key 请求头"
    )


class PointsRedemptionSerializer(serializers.ModelSerializer):
    """The holder's view: includes the 6-digit code to show at the counter."""

    offer_title = serializers.CharField(source="offer.title", read_only=True)
    merchant_name = serializers.CharField(source="merchant.name", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = Redemption
        fields = [
            "id",
            "offer",
            "offer_title",
            "merchant_name",
            "quantity",
            "points",
            "code",
            "status",
            "status_label",
            "expires_at",
            "created_at",
            "closed_at",
        ]


class CounterRedemptionSerializer(serializers.ModelSerializer):
    """The merchant's view: what to hand over and to whom; never the code."""

    offer_title = serializers.CharField(source="offer.title", read_only=True)
    holder = serializers.SerializerMethodField()
    status_label = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = Redemption
        fields = [
            "id",
            "offer_title",
            "quantity",
            "points",
            "holder",
            "status",
            "status_label",
            "expires_at",
            "created_at",
            "closed_at",
        ]

    def get_holder(self, obj) -> str:
        user = obj.account.user
        name = user.display_name if user else obj.account.name
        return name[:1] + "*" * max(1, len(name) - 1)  # the counter needs no full name


class CounterCodeInput(serializers.Serializer):
    code = serializers.CharField(max_length=12)


MSG_ONE_TARGET = "请填写对方手机号、扫描对方二维码或选择社区捐赠池（三选一）"


class PointsDonationInput(serializers.Serializer):
    from_account = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    to_phone = serializers.CharField(required=False, max_length=11, help_text="对方的手机号")
    to_code = serializers.CharField(
        required=False, max_length=200, help_text="对方「我的积分」页二维码的内容"
    )
    to_pool = serializers.CharField(required=False, max_length=120, help_text="捐入该社区路径的捐赠池")
    amount = serializers.IntegerField(min_value=1, max_value=10**9)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    idempotency_key = serializers.CharField(max_length=80)

    def validate(self, attrs):
        # a person by phone or QR code, never by account id: ids can be walked (issue #12 §4)
        if sum(bool(attrs.get(k)) for k in ("to_phone", "to_code", "to_pool")) != 1:
            raise serializers.ValidationError({"to_phone": [MSG_ONE_TARGET]})
        return attrs


class PointsDonationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    amount = serializers.IntegerField()
    to = serializers.CharField(help_text="受赠人（姓名已打码）或捐赠池名称")
    balance = serializers.IntegerField()


class PointsRuleSerializer(serializers.ModelSerializer):
    list_label = serializers.CharField(source="get_list_kind_display", read_only=True)

    class Meta:
        model = Rule
        fields = [
            "id",
            "code",
            "name",
            "list_kind",
            "list_label",
            "points",
            "unit",
            "classes",
            "cap",
            "cap_period",
            "evidence_required",
            "publicity_days",
        ]


class PointsClaimSerializer(serializers.ModelSerializer):
    rule_name = serializers.CharField(source="rule.name", read_only=True)
    account_name = serializers.CharField(source="account.name", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = Claim
        fields = [
            "id",
            "account",
            "account_name",
            "rule",
            "rule_name",
            "quantity",
            "points",
            "points_awarded",
            "note",
            "status",
            "status_label",
            "on_behalf",
            "publicity_ends_at",
            "effective_at",
            "created_at",
        ]


class PointsClaimInput(serializers.Serializer):
    account = serializers.IntegerField()
    rule = serializers.IntegerField()
    quantity = serializers.IntegerField(min_value=1, max_value=99, default=1)
    note = serializers.CharField(max_length=300)
    evidence = serializers.ImageField(required=False)


class PointsClaimReviewInput(serializers.Serializer):
    approve = serializers.BooleanField()
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class PointsObjectionInput(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class PointsRankingQuery(serializers.Serializer):
    holder_class = serializers.ChoiceField(choices=HolderClass.choices, default=HolderClass.RESIDENT)
    path = serializers.CharField(required=False)
    year = serializers.IntegerField(required=False, min_value=2000, max_value=2100)


class PointsRankRowSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    account = serializers.IntegerField(source="account.pk")
    name = serializers.CharField(source="account.name")
    path = serializers.CharField(source="account.path")
    score = serializers.IntegerField()


class PointsRankExcludedSerializer(serializers.Serializer):
    account = serializers.IntegerField()
    name = serializers.CharField()
    reason = serializers.CharField()


class PointsRankingSerializer(serializers.Serializer):
    """GET /points/ranking/: one object, the ranked rows and the accounts left out (and why)."""

    path = serializers.CharField()
    results = PointsRankRowSerializer(many=True)
    excluded = PointsRankExcludedSerializer(many=True)


class MerchantOfferInput(serializers.Serializer):
    merchant = serializers.IntegerField()
    title = serializers.CharField(max_length=100)
    description = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    price = serializers.IntegerField(min_value=1, max_value=1_000_000)
    stock = serializers.IntegerField(min_value=0, max_value=1_000_000)
    per_person_limit = serializers.IntegerField(min_value=0, max_value=10_000, default=0)
    valid_from = serializers.DateTimeField(required=False, allow_null=True, default=None)
    valid_until = serializers.DateTimeField(required=False, allow_null=True, default=None)


class RestockInput(serializers.Serializer):
    change = serializers.IntegerField(
        min_value=-1_000_000, max_value=1_000_000, help_text="正数补货，负数下调库存（不低于 0）"
    )
