from rest_framework import serializers

from .models import (
    Community,
    CommunityClass,
    CommunityPlan,
    Compound,
    CompoundProblem,
    FundEntry,
    MicroFund,
    RenewalProject,
    SharedSupermarket,
    SupermarketMonth,
    Town,
)


class TownSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)

    class Meta:
        model = Town
        fields = ["id", "code", "name", "kind", "kind_display", "path"]
        read_only_fields = ["path"]


class CommunityClassSerializer(serializers.ModelSerializer):
    class Meta:
        model = CommunityClass
        fields = ["id", "code", "name", "parent"]


class CommunitySerializer(serializers.ModelSerializer):
    town_name = serializers.CharField(source="town.name", read_only=True)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    class_name = serializers.SerializerMethodField()

    class Meta:
        model = Community
        fields = [
            "id",
            "code",
            "name",
            "kind",
            "kind_display",
            "path",
            "town",
            "town_name",
            "community_class",
            "class_name",
            "is_demonstration",
            "is_future_park",
            "households",
            "population",
        ]
        read_only_fields = ["path"]

    def get_class_name(self, obj) -> str:
        return str(obj.community_class) if obj.community_class_id else ""


class CommunityUpdateSerializer(serializers.ModelSerializer):
    class Meta:
        model = Community
        fields = [
            "name",
            "kind",
            "community_class",
            "is_demonstration",
            "is_future_park",
            "households",
            "population",
        ]
        extra_kwargs = {f: {"required": False} for f in fields}


class CompoundSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    governance_mode_display = serializers.CharField(source="get_governance_mode_display", read_only=True)
    community_name = serializers.CharField(source="community.name", read_only=True)

    class Meta:
        model = Compound
        fields = [
            "id",
            "code",
            "name",
            "path",
            "community",
            "community_name",
            "kind",
            "kind_display",
            "governance_mode",
            "governance_mode_display",
            "property_company",
            "households",
            "renovated",
            "is_smart",
            "smart_devices",
        ]
        read_only_fields = ["path"]


class CompoundUpdateSerializer(serializers.ModelSerializer):
    class Meta:
        model = Compound
        fields = [
            "name",
            "kind",
            "governance_mode",
            "property_company",
            "households",
            "renovated",
            "is_smart",
            "smart_devices",
        ]
        extra_kwargs = {f: {"required": False} for f in fields}


class PlanSerializer(serializers.ModelSerializer):
    scenes = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")
    phase_display = serializers.CharField(source="get_phase_display", read_only=True)

    class Meta:
        model = CommunityPlan
        fields = [
            "id",
            "community",
            "year",
            "goals",
            "measures",
            "scenes",
            "phase",
            "phase_display",
            "path",
        ]


class ProblemSerializer(serializers.ModelSerializer):
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    compound_name = serializers.CharField(source="compound.name", read_only=True)

    class Meta:
        model = CompoundProblem
        fields = [
            "id",
            "compound",
            "compound_name",
            "title",
            "description",
            "source",
            "status",
            "status_display",
            "owner_department",
            "resolution",
            "path",
            "created_at",
        ]
        read_only_fields = ["status", "resolution", "path", "created_at", "owner_department"]


class ProblemStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=CompoundProblem._meta.get_field("status").choices)
    resolution = serializers.CharField(required=False, allow_blank=True, default="")


class RenewalSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    scene_name = serializers.CharField(source="scene.name", read_only=True, default="")

    class Meta:
        model = RenewalProject
        fields = [
            "id",
            "name",
            "community",
            "compound",
            "kind",
            "kind_display",
            "scene",
            "scene_name",
            "site",
            "budget",
            "funding_sources",
            "status",
            "status_display",
            "source_ref",
            "path",
            "created_at",
        ]
        read_only_fields = ["status", "source_ref", "path", "created_at"]


class AdvanceSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)


class FundSerializer(serializers.ModelSerializer):
    community_name = serializers.CharField(source="community.name", read_only=True)

    class Meta:
        model = MicroFund
        fields = ["id", "name", "community", "community_name", "balance", "path"]


class FundEntrySerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)

    class Meta:
        model = FundEntry
        fields = [
            "id",
            "kind",
            "kind_display",
            "amount",
            "balance_after",
            "approval_ref",
            "note",
            "created_at",
        ]


class FundInflowSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[("donation", "捐赠"), ("transfer", "划拨")])
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)
    idempotency_key = serializers.CharField(max_length=80)


class SupermarketSerializer(serializers.ModelSerializer):
    class Meta:
        model = SharedSupermarket
        fields = [
            "id",
            "name",
            "community",
            "member_households",
            "contribution_basis",
            "contribution_rate",
            "path",
        ]


class SupermarketMonthSerializer(serializers.ModelSerializer):
    class Meta:
        model = SupermarketMonth
        fields = ["id", "month", "revenue", "net_profit", "contribution", "recorded_at"]
        read_only_fields = ["contribution", "recorded_at"]
