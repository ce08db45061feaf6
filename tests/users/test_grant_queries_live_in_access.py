"""Every permission question goes to qionglai/users/access.py (conventions; issue #12 §3): no
module outside qionglai/users/ queries the Grant table directly, by the model or through the
user's `grants` relation. Demo and benchmark builders, which write grants in bulk to set up a
city, and migrations are the exceptions."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ["grids", "consultation", "points", "projects", "qionglai"]
DIRECT = re.compile(r"\bGrant\.objects\b|\bgrants__\w+")


def allowed(path: Path) -> bool:
    relative = path.relative_to(ROOT).as_posix()
    return (
        relative.startswith("qionglai/users/")
        or "/migrations/" in relative
        or path.name == "demo.py"
        or path.name.startswith("demo_")
    )


def test_no_module_outside_users_queries_grants_directly():
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for app in APPS
        for path in sorted((ROOT / app).rglob("*.py"))
        if not allowed(path)
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if DIRECT.search(line)
    ]
    assert found == [], "ask access.py (holders, holder_grants, grants_at, holding):\n" + "\n".join(found)


def test_voting_members_are_the_inverse_of_may_vote(
    db, community_a, compound_a, community_b, rita, tina, bob
):
    """The invite list and the vote check ask the same policy: a resident granted at a compound
    inside the community votes there and is listed; town staff and outsiders are neither."""
    from consultation.permissions import may_vote, voting_members
    from qionglai.users import access
    from qionglai.users.models import Role
    from tests.factories import GrantFactory, UserFactory

    ruby = UserFactory(username="ruby", real_name="居民 露比")
    GrantFactory(user=ruby, role=Role.RESIDENT, path=compound_a.path)
    listed = set(voting_members(community_a))
    assert listed == set(access.holders("consultation.vote", community_a.path))
    assert {rita, ruby} <= listed
    assert tina not in listed and bob not in listed
    assert all(may_vote(u, community_a) for u in listed)
    assert not may_vote(tina, community_a) and not may_vote(bob, community_a)
