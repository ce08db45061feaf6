from django import forms

from qionglai.users.models import GridPost

from .models import Channel, GridMode, ReserveKind, Satisfaction, Tier, Urgency
from .selectors import categories


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleImageField(forms.FileField):
    """Up to 9 photos; each is decoded and re-encoded by the service (never trusted here)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault(
            "widget",
            MultipleFileInput(attrs={"accept": "image/*", "capture": "environment", "multiple": True}),
        )
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if not data:
            return []
        items = data if isinstance(data, list | tuple) else [data]
        return [super(MultipleImageField, self).clean(item, initial) for item in items]


def category_choices():
    groups: dict[str, list] = {}
    tops = []
    for c in categories():
        if c.parent_id is None:
            tops.append(c)
            groups.setdefault(c.name, [])
        else:
            groups.setdefault(c.parent.name, []).append((c.code, c.name))
    return [("", "请选择类别"), *[(name, items) for name, items in groups.items() if items]]


class ReportForm(forms.Form):
    category = forms.ChoiceField(label="事件类别")
    urgency = forms.ChoiceField(label="紧急程度", choices=Urgency.choices, initial=Urgency.BLUE)
    description = forms.CharField(
        label="事件描述",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "发生了什么？在哪里？"}),
    )
    address = forms.CharField(label="地点描述", max_length=200, required=False)
    lat = forms.DecimalField(
        label="纬度", max_digits=9, decimal_places=6, required=False, widget=forms.HiddenInput
    )
    lng = forms.DecimalField(
        label="经度", max_digits=9, decimal_places=6, required=False, widget=forms.HiddenInput
    )
    micro_grid = forms.ChoiceField(
        label="所在微网格", required=False, help_text="有定位时可不选，系统按位置自动匹配"
    )
    channel = forms.ChoiceField(label="来源渠道", choices=Channel.choices, initial=Channel.ONLINE)
    photos = MultipleImageField(label="现场照片（最多 9 张）", required=False)

    def __init__(self, *args, micro_grids=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = category_choices()
        self.fields["micro_grid"].choices = [("", "按定位自动匹配"), *[(g.pk, g.name) for g in micro_grids]]
        self.grids_by_id = {str(g.pk): g for g in micro_grids}

    def clean_micro_grid(self):
        value = self.cleaned_data.get("micro_grid")
        return self.grids_by_id.get(value) if value else None


class AcceptForm(forms.Form):
    tier = forms.ChoiceField(label="处置层级", choices=Tier.choices)
    urgency = forms.ChoiceField(label="紧急程度", choices=Urgency.choices)
    category = forms.ChoiceField(label="事件类别")
    note = forms.CharField(label="受理意见", max_length=300, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = category_choices()


class DispatchForm(forms.Form):
    tier = forms.ChoiceField(label="派往", choices=Tier.choices)
    department = forms.ChoiceField(label="承办部门（派至市级部门时）", required=False)
    note = forms.CharField(label="派单说明", max_length=300, required=False)

    def __init__(self, *args, departments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].choices = [
            ("", "按类别默认责任部门"),
            *[(d.code, d.name) for d in departments],
        ]


class ReasonForm(forms.Form):
    reason = forms.CharField(label="理由", max_length=300, widget=forms.Textarea(attrs={"rows": 2}))


class ExtensionForm(forms.Form):
    hours = forms.IntegerField(label="延期小时数", min_value=1, max_value=720, initial=24)
    reason = forms.CharField(label="延期理由", max_length=300)


class ResolveForm(forms.Form):
    result = forms.CharField(label="处置结果", max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    photos = MultipleImageField(label="处置后照片", required=False)


class VerifyForm(forms.Form):
    passed = forms.TypedChoiceField(
        label="核查结论",
        choices=[("1", "核查通过"), ("0", "未通过，退回重办")],
        coerce=lambda v: v == "1",
        initial="1",
    )
    note = forms.CharField(label="核查意见", max_length=300, required=False)


class EvaluateForm(forms.Form):
    satisfaction = forms.ChoiceField(
        label="您对处理结果是否满意？",
        choices=[c for c in Satisfaction.choices if c[0] != Satisfaction.NONE],
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(label="意见（可选）", max_length=300, required=False)


class ModeForm(forms.Form):
    mode = forms.ChoiceField(label="切换为", choices=GridMode.choices)
    reason = forms.CharField(label="原因", max_length=300)


class RosterForm(forms.Form):
    username = forms.CharField(label="人员账号或手机号", max_length=150)
    post = forms.ChoiceField(label="岗位", choices=GridPost.choices)
    reserve_kind = forms.ChoiceField(
        label="后备力量类别", choices=[("", "—"), *ReserveKind.choices], required=False
    )
