from decimal import Decimal

from django import forms
from django.utils import timezone

from qionglai.core.forms import date_field

from .models import FundEntryKind, RenewalKind, RenewalStatus


class AdvanceForm(forms.Form):
    note = forms.CharField(label="说明", max_length=300, required=False)


class PhotoForm(forms.Form):
    image = forms.FileField(label="照片", widget=forms.ClearableFileInput(attrs={"accept": "image/*"}))
    caption = forms.CharField(label="说明", max_length=150, required=False)


class InflowForm(forms.Form):
    kind = forms.ChoiceField(
        label="类型", choices=[(FundEntryKind.DONATION, "捐赠"), (FundEntryKind.TRANSFER, "划拨")]
    )
    amount = forms.DecimalField(
        label="金额（元）", max_digits=14, decimal_places=2, min_value=Decimal("0.01")
    )
    note = forms.CharField(label="说明", max_length=300, required=False)
    idempotency_key = forms.CharField(widget=forms.HiddenInput)


class MonthForm(forms.Form):
    month = date_field(label="月份（当月任一日）", initial=timezone.localdate)
    revenue = forms.DecimalField(label="营业收入（元）", max_digits=14, decimal_places=2)
    net_profit = forms.DecimalField(label="净利润（元）", max_digits=14, decimal_places=2)


class RenewalFilterForm(forms.Form):
    kind = forms.ChoiceField(label="类型", choices=[("", "全部"), *RenewalKind.choices], required=False)
    status = forms.ChoiceField(label="状态", choices=[("", "全部"), *RenewalStatus.choices], required=False)
    q = forms.CharField(label="名称", required=False)


class ImportForm(forms.Form):
    kind = forms.ChoiceField(
        label="导入内容",
        choices=[
            ("towns", "镇（街道）"),
            ("communities", "村（社区）"),
            ("compounds", "小区（院落）"),
        ],
    )
    file = forms.FileField(
        label="Excel 文件（.xlsx）", widget=forms.ClearableFileInput(attrs={"accept": ".xlsx"})
    )
