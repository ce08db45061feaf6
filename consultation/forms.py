from datetime import timedelta
from decimal import Decimal

from django import forms
from django.utils import timezone

from projects.models import RenewalKind
from qionglai.core.forms import date_field, datetime_field

from .models import InviteeCategory


class ProposeForm(forms.Form):
    title = forms.CharField(
        label="议题", max_length=120, widget=forms.TextInput(attrs={"placeholder": "一句话说明要商量的事"})
    )
    description = forms.CharField(label="内容与诉求", widget=forms.Textarea(attrs={"rows": 5}))
    community = forms.ModelChoiceField(label="社区", queryset=None, empty_label=None)
    compound = forms.ModelChoiceField(
        label="小区（院落）", queryset=None, required=False, empty_label="整个社区"
    )

    def __init__(self, *args, communities, compounds, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["community"].queryset = communities
        self.fields["compound"].queryset = compounds
        if communities.count() == 1:
            self.fields["community"].initial = communities.first()
            self.fields["community"].widget = forms.HiddenInput()


def category_tree() -> list[tuple[str, list[tuple[str, str]]]]:
    """The incident categories as the grid line files them: each top-level category a group,
    its subcategories the choices (by name; the code is the value sent)."""
    from grids.models import Category

    groups: dict[int, tuple[str, list]] = {}
    rows = Category.objects.filter(active=True, parent__isnull=False, parent__active=True).select_related(
        "parent"
    )
    for c in rows.order_by("parent__code", "code"):
        groups.setdefault(c.parent_id, (c.parent.name, []))[1].append((c.code, c.name))
    return list(groups.values())


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(
        label="审议结论",
        choices=[
            ("accept", "通过，进入公示"),
            ("reject", "驳回"),
            ("merge", "合并到其他议题"),
            ("incident", "转为网格事件"),
        ],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label="理由（驳回、合并、转事件时必填，将告知提议人）",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    merge_into = forms.ModelChoiceField(
        label="并入议题（合并时）", queryset=None, required=False, empty_label="请选择要并入的议题"
    )
    incident_category = forms.ChoiceField(label="事件类别（转为网格事件时）", required=False)

    def __init__(self, *args, topics, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["merge_into"].queryset = topics
        self.fields["merge_into"].label_from_instance = lambda t: f"{t.title}（{t.current_step.name}）"
        self.fields["incident_category"].choices = [("", "请选择事件类别"), *category_tree()]

    def clean(self):
        data = super().clean()
        if data.get("decision") == "incident" and not data.get("incident_category"):
            self.add_error("incident_category", "转为网格事件时请选择事件类别")
        return data


class PublicityForm(forms.Form):
    title = forms.CharField(label="公示标题", max_length=150, required=False)
    content = forms.CharField(label="公示内容", widget=forms.Textarea(attrs={"rows": 4}))


class MeetingForm(forms.Form):
    title = forms.CharField(label="会议名称", max_length=120)
    scheduled_at = datetime_field(label="召开时间")
    location = forms.CharField(label="地点", max_length=120, required=False)
    agenda = forms.CharField(label="议程", required=False, widget=forms.Textarea(attrs={"rows": 3}))
    default_speech_seconds = forms.IntegerField(
        label="每人发言时限（秒）", initial=180, min_value=30, max_value=1800
    )
    members = forms.ModelMultipleChoiceField(
        label="邀请参会（有表决权：本社区居民、党员、网格员、社区工作者）",
        queryset=None,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    guests = forms.CharField(
        label="列席人员（无表决权，每行一人：姓名,身份；身份可为 物业企业/社工/部门工作人员）",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "王经理,物业企业"}),
    )

    def __init__(self, *args, members, **kwargs):
        from .permissions import member_label

        super().__init__(*args, **kwargs)
        self.fields["members"].queryset = members
        self.fields["members"].label_from_instance = member_label
        self.refused: dict[int, str] = {}
        self.fields["scheduled_at"].initial = (timezone.localtime() + timedelta(days=5)).replace(
            minute=0, second=0, microsecond=0
        )

    def add_service_error(self, error) -> None:
        """Puts the meeting service's refusal on the form: a refused invitee's message beside
        that person's tick box (the error carries the person's id), others beside their field."""
        if not hasattr(error, "error_dict"):
            for message in error.messages:
                self.add_error(None, message)
            return
        for name, errors in error.error_dict.items():
            for e in errors:
                for message in e.messages:
                    user_id = (e.params or {}).get("user_id")
                    if name == "user" and user_id:
                        self.refused[user_id] = message
                        self.add_error("members", message)
                    else:
                        self.add_error(name if name in self.fields else None, message)

    def member_rows(self):
        """(tick box, error beside it) for each person on the invite list."""
        return [(box, self.refused.get(box.data["value"].value, "")) for box in self["members"]]

    def clean_guests(self):
        labels = {label: value for value, label in InviteeCategory.choices}
        out = []
        for line in self.cleaned_data["guests"].splitlines():
            if not line.strip():
                continue
            name, _, role = line.replace("，", ",").partition(",")
            category = labels.get(
                role.strip(), InviteeCategory.PROPERTY if "物业" in role else InviteeCategory.SOCIAL_WORKER
            )
            out.append({"name": name.strip(), "category": category})
        return out


class ResolutionForm(forms.Form):
    text = forms.CharField(label="决议内容", widget=forms.Textarea(attrs={"rows": 4}))
    grant_amount = forms.DecimalField(
        label="申请微基金资助（元，可不填）", required=False, min_value=0, decimal_places=2
    )
    renewal_name = forms.CharField(label="创建更新项目（名称，可不填）", required=False, max_length=150)
    renewal_kind = forms.ChoiceField(label="项目类型", choices=RenewalKind.choices, required=False)
    renewal_budget = forms.DecimalField(label="项目预算（元）", required=False, min_value=0, decimal_places=2)
    problem = forms.ModelChoiceField(label="销号小区问题（可不选）", queryset=None, required=False)
    incident_title = forms.CharField(
        label="转网格事件办理（事项，可不填）",
        required=False,
        max_length=150,
        widget=forms.TextInput(attrs={"placeholder": "如：清理院坝堆放的建筑垃圾"}),
    )
    incident_category = forms.ChoiceField(label="事件类别", required=False)

    def __init__(self, *args, problems, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["problem"].queryset = problems
        self.fields["incident_category"].choices = [("", "其他事项"), *category_tree()]

    def outcomes(self) -> list[dict]:
        data, out = self.cleaned_data, []
        if data.get("grant_amount"):
            out.append({"kind": "fund_grant", "title": "微基金资助", "amount": data["grant_amount"]})
        if data.get("renewal_name"):
            out.append(
                {
                    "kind": "renewal",
                    "title": data["renewal_name"],
                    "renewal_kind": data.get("renewal_kind") or "micro_renewal",
                    "amount": data.get("renewal_budget"),
                }
            )
        if data.get("incident_title"):
            out.append(
                {
                    "kind": "incident",
                    "title": data["incident_title"],
                    "incident_category": data.get("incident_category") or "",
                }
            )
        if data.get("problem"):
            out.append(
                {
                    "kind": "close_problem",
                    "title": f"销号：{data['problem'].title}",
                    "problem": data["problem"],
                }
            )
        return out


class ImplementationForm(forms.Form):
    owner = forms.CharField(label="实施负责人", max_length=100)
    budget = forms.DecimalField(label="预算（元）", min_value=0, decimal_places=2)
    deadline = date_field(label="完成期限")
    supervisor = forms.ModelChoiceField(label="居民监督员", queryset=None, required=False)

    def __init__(self, *args, residents, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["supervisor"].queryset = residents
        self.fields["supervisor"].label_from_instance = lambda u: u.display_name


class ProgressForm(forms.Form):
    progress = forms.IntegerField(label="进度（%）", min_value=0, max_value=100)
    note = forms.CharField(label="说明", required=False, max_length=500)


class TextForm(forms.Form):
    text = forms.CharField(label="内容", widget=forms.Textarea(attrs={"rows": 3}))


class RatingForm(forms.Form):
    score = forms.TypedChoiceField(
        label="评分",
        coerce=int,
        choices=[
            (5, "5 分 非常满意"),
            (4, "4 分 满意"),
            (3, "3 分 一般"),
            (2, "2 分 不满意"),
            (1, "1 分 很不满意"),
        ],
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label="评价", required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )


class EvaluateForm(forms.Form):
    decision = forms.ChoiceField(
        label="评议结论", choices=[("close", "办结"), ("reopen", "重新实施")], widget=forms.RadioSelect
    )
    note = forms.CharField(label="说明（重新实施时必填）", required=False, max_length=500)


class AttachmentForm(forms.Form):
    """A photo for the meeting's minutes or a 公示照片; the service decodes and re-encodes it."""

    image = forms.FileField(
        label="照片",
        widget=forms.ClearableFileInput(
            attrs={"accept": "image/jpeg,image/png,image/webp", "capture": "environment"}
        ),
        error_messages={"required": "请选择要上传的照片"},
    )
    caption = forms.CharField(label="说明", max_length=150, required=False)


class TemplateCloneForm(forms.Form):
    community = forms.ModelChoiceField(label="复制给社区", queryset=None, empty_label=None)
    name = forms.CharField(
        label="模板名称", max_length=100, required=False, help_text="不填则为“社区名 + 议事规则”"
    )

    def __init__(self, *args, communities, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["community"].queryset = communities


def _percent(label: str, ratio: Decimal) -> forms.DecimalField:
    """A 0–1 ratio shown and entered as a percentage with one decimal."""
    return forms.DecimalField(
        label=label,
        min_value=0,
        max_value=100,
        decimal_places=1,
        initial=(ratio * 100).quantize(Decimal("0.1")),
    )


def _strict(label: str, strict: bool) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label,
        choices=[("1", "超过该比例（过半）"), ("0", "达到该比例")],
        coerce=lambda v: v == "1",
        initial="1" if strict else "0",
    )


class TemplateEditForm(forms.Form):
    """One form for the whole template: the name, and per step the fields a community may
    change (STEP_EDITABLE). Fields are named `<step code>-<field>`; ratios are shown in %.
    `changes()` gives only what differs from the template, keyed by step code."""

    name = forms.CharField(label="模板名称", max_length=100)

    PERCENT = {"quorum_ratio", "pass_ratio"}

    def __init__(self, *args, template, **kwargs):
        super().__init__(*args, initial={"name": template.name}, **kwargs)
        from qionglai.users.models import Role

        from .models import PassBasis, RecordKind, StepKind

        self.template = template
        self.steps = list(template.steps.order_by("order"))
        self.step_rows = []
        for step in self.steps:
            p = step.code
            specs = {
                "name": forms.CharField(label="步骤名称", max_length=40, initial=step.name),
                "actor_role": forms.ChoiceField(
                    label="执行角色", choices=Role.choices, initial=step.actor_role
                ),
                "actor_label": forms.CharField(
                    label="执行主体", max_length=60, required=False, initial=step.actor_label
                ),
                "min_days": forms.IntegerField(
                    label="公示期（天）" if step.is_publicity else "最短期限（天）",
                    min_value=1 if step.is_publicity else 0,
                    max_value=90,
                    initial=step.min_days,
                ),
                "required_records": forms.MultipleChoiceField(
                    label="必需记录",
                    choices=RecordKind.choices,
                    required=False,
                    widget=forms.CheckboxSelectMultiple,
                    initial=step.required_records,
                ),
                "description": forms.CharField(
                    label="说明",
                    max_length=300,
                    required=False,
                    initial=step.description,
                    widget=forms.Textarea(attrs={"rows": 2}),
                ),
            }
            if step.kind == StepKind.VOTE:
                specs |= {
                    "quorum_ratio": _percent("到会比例（%）", step.quorum_ratio),
                    "quorum_strict": _strict("到会要求", step.quorum_strict),
                    "pass_basis": forms.ChoiceField(
                        label="通过基数", choices=PassBasis.choices, initial=step.pass_basis
                    ),
                    "pass_ratio": _percent("通过比例（%）", step.pass_ratio),
                    "pass_strict": _strict("通过要求", step.pass_strict),
                }
            for field, spec in specs.items():
                self.fields[f"{p}-{field}"] = spec
            self.step_rows.append((step, [self[f"{p}-{field}"] for field in specs]))

    def changes(self) -> dict[str, dict]:
        out: dict[str, dict] = {}
        for step in self.steps:
            prefix = f"{step.code}-"
            for key, value in self.cleaned_data.items():
                if not key.startswith(prefix):
                    continue
                field = key[len(prefix) :]
                if field in self.PERCENT:
                    value = (Decimal(value) / 100).quantize(Decimal("0.001"))
                if field == "required_records":
                    value = list(value)
                    if sorted(value) == sorted(step.required_records or []):
                        continue
                elif value == getattr(step, field):
                    continue
                out.setdefault(step.code, {})[field] = value
        return out
