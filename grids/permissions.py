"""Actions grids declares with the one access module (design §3). Department handlers act by
unit (their department code), checked in services and selectors on top of these."""

from qionglai.users import access
from qionglai.users.models import Role

STAFF = [Role.GRID_WORKER, Role.COMMUNITY_STAFF, Role.TOWN_STAFF, Role.CITY_STAFF]

access.define("grids.view", roles=[*STAFF, Role.DEPARTMENT_HANDLER], ancestors=True, label="查看网格与人员")
access.define("grids.incident_view", roles=STAFF, label="查看辖区网格事件")
access.define(
    "grids.report",
    roles=[Role.RESIDENT, Role.PARTY_MEMBER, Role.GRID_WORKER, Role.COMMUNITY_STAFF, Role.TOWN_STAFF],
    label="上报网格事件",
)
# 附议 is a neighbour's voice: staff and 网格长 handle incidents, they do not second them
access.define("grids.me_too", roles=[Role.RESIDENT, Role.PARTY_MEMBER], label="附议（我也遇到了）")
# the channel a report came in by (12345, 上级交办, 线下, 感知设备): recorded by staff only; anyone
# else's report is 线上, so a resident cannot skew the channel figures (issue #12 §3)
access.define(
    "grids.report_channel",
    roles=[Role.GRID_WORKER, Role.COMMUNITY_STAFF, Role.TOWN_STAFF, Role.DEPARTMENT_HANDLER, Role.CITY_STAFF],
    label="登记上报渠道",
)
# a reporter's phone and exact position (design §3): community staff over the place; an
# incident's handlers also may (checked in the service), and every read is logged
access.define("grids.reporter_contact", roles=[Role.COMMUNITY_STAFF], label="查看上报人联系方式")
# accept: grid workers may accept only as 网格自办 (tier = grid); the service checks the tier
access.define(
    "grids.accept", roles=[Role.GRID_WORKER, Role.COMMUNITY_STAFF, Role.TOWN_STAFF], label="受理事件（三分）"
)
access.define("grids.reject", roles=[Role.COMMUNITY_STAFF, Role.TOWN_STAFF], label="不予受理")
access.define(
    "grids.dispatch", roles=[Role.COMMUNITY_STAFF, Role.TOWN_STAFF, Role.CITY_STAFF], label="派单与改派"
)
# handling (resolve, return, request an extension) depends on the tier the incident was given
access.define(
    "grids.handle_grid",
    roles=[Role.GRID_WORKER, Role.COMMUNITY_STAFF, Role.TOWN_STAFF],
    label="处置网格自办事件",
)
access.define("grids.handle_community", roles=[Role.COMMUNITY_STAFF, Role.TOWN_STAFF], label="处置社区事件")
access.define("grids.handle_town", roles=[Role.TOWN_STAFF], label="处置镇街事件")
# department handlers hold a city-wide grant with their department as unit; services also
# require the incident to be dispatched to that unit
access.define("grids.handle_department", roles=[Role.DEPARTMENT_HANDLER], label="处置派至本部门的事件")
access.define(
    "grids.approve_extension",
    roles=[Role.COMMUNITY_STAFF, Role.TOWN_STAFF, Role.CITY_STAFF],
    label="审批延期",
)
access.define(
    "grids.verify", roles=[Role.GRID_WORKER, Role.COMMUNITY_STAFF, Role.TOWN_STAFF], label="核查办结结果"
)
access.define("grids.mode_switch", roles=[Role.COMMUNITY_STAFF, Role.TOWN_STAFF], label="平战模式切换")
access.define("grids.roster_manage", roles=[Role.COMMUNITY_STAFF, Role.TOWN_STAFF], label="维护网格人员")
