"""The city's reported figures (design §1, §8), each a count over rows. The demo is built so
these equal the reported numbers exactly; tests/core/test_demo.py holds it to that."""

from __future__ import annotations

from django.db.models import Sum


def headline() -> dict[str, int]:
    from grids.models import (
        DoctorTeam,
        DoctorTeamMember,
        Grid,
        GridKind,
        Incident,
        PartyGroup,
        PartyMember,
        PartyOrganization,
        Status,
    )
    from points.models import AccountKind, Entry, Merchant, MerchantKind, Redemption, RedemptionStatus, TxKind

    return {
        "微网格": Grid.objects.filter(kind=GridKind.MICRO).count(),
        "网格党组织": PartyOrganization.objects.filter(grid__kind=GridKind.GENERAL).count(),
        "微网格党小组": PartyGroup.objects.count(),
        "党员": PartyMember.objects.count(),
        "家庭医生团队": DoctorTeam.objects.count(),
        "家庭医生团队成员": DoctorTeamMember.objects.count(),
        "签约商户": Merchant.objects.filter(kind=MerchantKind.SIGNED).count(),
        "爱心超市": Merchant.objects.filter(kind=MerchantKind.CHARITY).count(),
        "办结事件": Incident.objects.filter(status=Status.CLOSED).count(),
        "累计获得积分": Entry.objects.filter(account__kind=AccountKind.HOLDER, kind=TxKind.EARN).aggregate(
            s=Sum("amount")
        )["s"]
        or 0,
        "积分兑换": Redemption.objects.filter(status=RedemptionStatus.SETTLED).count(),
    }
