"""Excel import: all-or-nothing per file, with each bad row named by its Excel row number."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook, load_workbook

from projects import excel
from projects.models import Community, Compound

pytestmark = pytest.mark.django_db


def workbook(rows) -> SimpleUploadedFile:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return SimpleUploadedFile("import.xlsx", out.getvalue())


HEADER = excel.SHEETS["compounds"]


def test_it_names_each_bad_row_and_writes_nothing(carol, community_a, community_b):
    upload = workbook(
        [
            HEADER,
            [community_a.path, "s101", "桂花苑", "商品房小区", "信托制物业", "某物业", 120, "否", "否"],
            [community_a.path, "s102", "", "商品房小区", "", "", 80, "否", "否"],  # row 3: no name
            [
                "510183.999.x",
                "s103",
                "幽灵小区",
                "商品房小区",
                "",
                "",
                80,
                "否",
                "否",
            ],  # row 4: no such community
            [community_a.path, "s104", "银杏苑", "城堡", "", "", 80, "否", "否"],  # row 5: bad kind
            [
                community_a.path,
                "s105",
                "竹林苑",
                "老旧院落",
                "",
                "",
                -3,
                "是",
                "否",
            ],  # row 6: negative households
            [
                community_b.path,
                "s106",
                "越权苑",
                "商品房小区",
                "",
                "",
                10,
                "否",
                "否",
            ],  # row 7: outside carol's grant
            [
                community_a.path,
                "s107",
                "茶园苑",
                "老旧院落",
                "自治大管家",
                "",
                60,
                "也许",
                "否",
            ],  # row 8: bad yes/no
        ]
    )
    report = excel.import_workbook(actor=carol, kind="compounds", upload=upload)
    assert not report.ok
    assert [e.row for e in report.errors] == [3, 4, 5, 6, 7, 8]
    messages = {e.row: e.message for e in report.errors}
    assert "所属社区 510183.999.x 不存在" in messages[4]
    assert "「类型」无效：城堡" in messages[5]
    assert "「户数」不能为负数" in messages[6]
    assert "权限" in messages[7]
    assert "是 或 否" in messages[8]
    assert not Compound.objects.filter(code__in=["s101", "s102", "s107"]).exists()
    assert (report.created, report.updated) == (0, 0)


def test_it_imports_a_clean_file_and_updates_on_reimport(carol, community_a):
    rows = [
        HEADER,
        [community_a.path, "s201", "桂花苑", "商品房小区", "物业+社工", "桂花物业", 120, "否", "是"],
    ]
    report = excel.import_workbook(actor=carol, kind="compounds", upload=workbook(rows))
    assert report.ok and report.created == 1
    rows[1][6] = 130
    report = excel.import_workbook(actor=carol, kind="compounds", upload=workbook(rows))
    assert report.ok and (report.created, report.updated) == (0, 1)
    compound = Compound.objects.get(code="s201")
    assert (compound.households, compound.governance_mode, compound.is_smart) == (
        130,
        "property_social",
        True,
    )


def test_it_refuses_a_file_that_is_not_a_workbook(carol):
    report = excel.import_workbook(
        actor=carol, kind="towns", upload=SimpleUploadedFile("x.xlsx", b"not a zip")
    )
    assert [(e.row, e.message) for e in report.errors] == [(0, excel.MSG_NOT_XLSX)]


def test_it_refuses_a_wrong_header(victor):
    report = excel.import_workbook(
        actor=victor, kind="towns", upload=workbook([["名字", "编号"], ["x", "y"]])
    )
    assert report.errors[0].row == 1
    assert "表头应为" in report.errors[0].message


def test_it_round_trips_communities_through_export_and_import(tina, town_a, community_a):
    content = excel.export_workbook(user=tina, kind="communities")
    rows = list(load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True))
    assert rows[0] == tuple(excel.SHEETS["communities"])
    assert rows[1][:3] == (town_a.code, community_a.code, community_a.name)
    edited = [list(r) for r in rows]
    edited[1][7] = 4321
    report = excel.import_workbook(actor=tina, kind="communities", upload=workbook(edited))
    assert report.ok, report.errors
    assert Community.objects.get(pk=community_a.pk).households == 4321


def test_it_shows_the_report_on_the_import_page(client, tina, community_a):
    client.force_login(tina)
    upload = workbook([excel.SHEETS["communities"], ["001", "z01", "", "社区", "", "否", "否", 1, 1]])
    response = client.post("/registry/import/", {"kind": "communities", "file": upload})
    assert response.status_code == 200
    body = response.content.decode()
    assert "文件未导入" in body and '<td class="num">2</td>' in body


def test_the_exports_name_places_and_classes_and_import_back(tina, town_a, community_a, compound_a):
    """People read names, not codes (issue #13 §14): the compound sheet names its community as
    「镇街 › 社区」 and the community sheet its class as 「上级 › 分类」, and both import back."""
    from projects.models import CommunityClass

    top = CommunityClass.objects.create(code="t.urban", name="城镇社区")
    sub = CommunityClass.objects.create(code="t.urban.old-town", name="古城宜居", parent=top)
    Community.objects.filter(pk=community_a.pk).update(community_class=sub)

    communities = list(
        load_workbook(io.BytesIO(excel.export_workbook(user=tina, kind="communities"))).active.iter_rows(
            values_only=True
        )
    )
    assert communities[1][4] == "城镇社区 › 古城宜居"
    compounds = list(
        load_workbook(io.BytesIO(excel.export_workbook(user=tina, kind="compounds"))).active.iter_rows(
            values_only=True
        )
    )
    assert compounds[1][0] == "临邛街道 › 洪川社区"
    assert not any(
        "510183" in str(cell) or "t.urban" in str(cell) for row in communities + compounds for cell in row
    )

    edited = [list(r) for r in compounds]
    edited[1][6] = 77
    report = excel.import_workbook(actor=tina, kind="compounds", upload=workbook(edited))
    assert report.ok, report.errors
    assert Compound.objects.get(pk=compound_a.pk).households == 77
    report = excel.import_workbook(
        actor=tina, kind="communities", upload=workbook([list(r) for r in communities])
    )
    assert report.ok, report.errors
    assert Community.objects.get(pk=community_a.pk).community_class == sub
