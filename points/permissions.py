"""The points app's actions, decided by the one access module (design §3)."""

from qionglai.users import access
from qionglai.users.models import Role

HOLDER_ROLES = [Role.RESIDENT, Role.PARTY_MEMBER, Role.COMMUNITY_STAFF]
STAFF_READERS = [Role.COMMUNITY_STAFF, Role.TOWN_STAFF, Role.CITY_STAFF]

# Holder accounts sit on the community (account_open) while a holder's grant may sit below it —
# a party member on their micro-grid, a resident on their compound — so these two reach up to
# the account's place (ancestors). Whose account it is stays the services' check (the account's
# user is the actor: require_spendable, claim_submit's `own`).
access.define("points.hold", roles=HOLDER_ROLES, ancestors=True, label="持有积分账户、兑换、捐赠")
access.define("points.claim_own", roles=HOLDER_ROLES, ancestors=True, label="为自己申报正面清单积分")
access.define("points.claim_record", roles=[Role.COMMUNITY_STAFF], label="代录申报、登记负面/禁止清单")
access.define(
    "points.object",
    roles=[*HOLDER_ROLES, Role.GRID_WORKER],
    label="对公示中的积分提出异议",
)
access.define("points.view", roles=STAFF_READERS, label="查看辖区积分台账、公示与排名")
access.define("points.manage", roles=[Role.COMMUNITY_STAFF], label="处理异议、禁止清单、捐赠池发放")
access.define("points.merchant_verify", roles=[Role.MERCHANT], label="商户柜台核销兑换")
access.define("points.offer_manage", roles=[Role.MERCHANT, Role.COMMUNITY_STAFF], label="维护兑换项目与库存")
access.define("points.reverse", roles=[Role.CITY_STAFF], label="冲正积分交易")
# A rule names the role that approves its claims; one action per approver role keeps that
# decision inside the access module.
for role in (Role.COMMUNITY_STAFF, Role.TOWN_STAFF, Role.CITY_STAFF):
    access.define(f"points.review.{role}", roles=[role], label=f"审核积分申报（{role.label}）")
