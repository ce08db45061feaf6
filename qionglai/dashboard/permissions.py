"""Who reads the dashboard: staff whose grant is a community, a town or the city. The grant's
path is the widest scope they may open; they drill down from it, never up or sideways."""

from qionglai.users import access
from qionglai.users.models import Role

access.define(
    "dashboard.view",
    roles=[Role.COMMUNITY_STAFF, Role.TOWN_STAFF, Role.CITY_STAFF],
    label="查看数据看板",
)
