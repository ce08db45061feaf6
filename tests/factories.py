"""factory-boy factories for the registry and users. Paths follow design §3."""

import factory
from django.conf import settings

from projects.models import Community, Compound, MicroFund, Town
from qionglai.users.models import Grant, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    real_name = factory.Sequence(lambda n: f"用户{n}")
    password = factory.django.Password("pass-12345")


class GrantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Grant

    user = factory.SubFactory(UserFactory)
    role = "resident"
    path = settings.CITY_PATH


class TownFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Town
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"{n + 100:03d}")
    name = factory.Sequence(lambda n: f"测试镇{n}")
    path = factory.LazyAttribute(lambda o: f"{settings.CITY_PATH}.{o.code}")


class CommunityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Community
        django_get_or_create = ("path",)
        skip_postgeneration_save = True

    town = factory.SubFactory(TownFactory)
    code = factory.Sequence(lambda n: f"c{n:03d}")
    name = factory.Sequence(lambda n: f"测试社区{n}")
    path = factory.LazyAttribute(lambda o: f"{o.town.path}.{o.code}")
    households = 1000

    @factory.post_generation
    def fund(obj, create, extracted, **kwargs):
        if create:
            MicroFund.objects.get_or_create(
                community=obj, defaults={"name": f"{obj.name}微基金", "path": obj.path}
            )


class CompoundFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Compound
        django_get_or_create = ("path",)

    community = factory.SubFactory(CommunityFactory)
    code = factory.Sequence(lambda n: f"s{n:03d}")
    name = factory.Sequence(lambda n: f"测试小区{n}")
    kind = "commercial"
    path = factory.LazyAttribute(lambda o: f"{o.community.path}.{o.code}")
    households = 200
