from qionglai.users import access
from qionglai.users.models import Role

STAFF_READERS = [
    Role.GRID_WORKER,
    Role.COMMUNITY_STAFF,
    Role.TOWN_STAFF,
    Role.CITY_STAFF,
    Role.DEPARTMENT_HANDLER,
]

access.define("projects.view", roles=STAFF_READERS, ancestors=True, label="查看社区台账")
access.define(
    "projects.edit",
    roles=[Role.COMMUNITY_STAFF, Role.TOWN_STAFF],
    label="维护社区台账（社区、小区、项目）",
)
access.define("projects.edit_town", roles=[Role.TOWN_STAFF], label="维护镇街与社区名录")
access.define("projects.edit_city", roles=[Role.CITY_STAFF], label="维护全市名录（镇街）")
access.define(
    "projects.fund_view",
    roles=[Role.COMMUNITY_STAFF, Role.TOWN_STAFF, Role.CITY_STAFF],
    label="查看微基金",
)
access.define("projects.fund_manage", roles=[Role.COMMUNITY_STAFF], label="微基金入账与资助")
access.define(
    "projects.problem_raise",
    roles=[Role.RESIDENT, Role.PARTY_MEMBER, Role.GRID_WORKER, Role.COMMUNITY_STAFF],
    label="登记小区问题",
)
access.define("projects.import", roles=[Role.CITY_STAFF, Role.TOWN_STAFF], label="Excel 导入名录")
