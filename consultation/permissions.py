from qionglai.users import access
from qionglai.users.models import Role

PARTICIPANTS = [Role.RESIDENT, Role.PARTY_MEMBER, Role.GRID_WORKER]
STAFF = [Role.COMMUNITY_STAFF, Role.TOWN_STAFF]

access.define(
    "consultation.view",
    roles=[*PARTICIPANTS, *STAFF, Role.CITY_STAFF, Role.DEPARTMENT_HANDLER],
    label="查看议题与公示",
)
access.define("consultation.propose", roles=[*PARTICIPANTS, Role.COMMUNITY_STAFF], label="提出议题")
access.define(
    "consultation.manage",
    roles=STAFF,
    label="主持议事：审议、推进步骤、会议、表决、公示、决议与实施",
)
access.define(
    "consultation.vote",
    roles=[*PARTICIPANTS, *STAFF, Role.DEPARTMENT_HANDLER],
    label="在到会后参与表决",
)
access.define("consultation.object", roles=PARTICIPANTS, label="在公示期内提出异议")
access.define("consultation.rate", roles=[*PARTICIPANTS, Role.COMMUNITY_STAFF], label="评议实施效果")
access.define("consultation.supervise", roles=[Role.RESIDENT, Role.PARTY_MEMBER], label="担任居民监督员")
access.define(
    "consultation.template_manage",
    roles=[Role.COMMUNITY_STAFF, Role.TOWN_STAFF, Role.CITY_STAFF],
    label="复制与编辑议事规则模板",
)
