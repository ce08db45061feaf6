import uuid

from django import forms

from .models import HolderClass, Rule, RuleList


def _key():
    return uuid.uuid4().hex


MSG_QUANTITY_BALANCE = "可用积分 {balance} 分，每份 {price} 分，最多可兑换 {most} 份"
MSG_QUANTITY_STOCK = "库存只剩 {stock} 份"
MSG_AMOUNT_BALANCE = "可用积分 {balance} 分，捐赠不能超过余额"


class OrderForm(forms.Form):
    account = forms.TypedChoiceField(label="使用账户", coerce=int)
    quantity = forms.IntegerField(label="数量", min_value=1, max_value=20, initial=1)
    idempotency_key = forms.CharField(widget=forms.HiddenInput, initial=_key)

    def __init__(self, *args, accounts=(), offer=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.accounts = {a.pk: a for a in accounts}
        self.offer = offer
        self.fields["account"].choices = [
            (a.pk, f"{a.get_holder_class_display()}账户（余额 {a.balance} 分）") for a in accounts
        ]

    def clean(self):
        """The balance and the stock as the page saw them, so the message sits beside 数量;
        the service re-checks both under its locks."""
        data = super().clean()
        account, quantity = self.accounts.get(data.get("account")), data.get("quantity")
        if self.offer is None or account is None or not quantity:
            return data
        price = self.offer.price
        if quantity * price > account.balance:
            most = account.balance // price
            self.add_error(
                "quantity", MSG_QUANTITY_BALANCE.format(balance=account.balance, price=price, most=most)
            )
        elif quantity > self.offer.stock:
            self.add_error("quantity", MSG_QUANTITY_STOCK.format(stock=self.offer.stock))
        return data


class DonateForm(forms.Form):
    TARGETS = [("pool", "本社区积分捐赠池"), ("person", "指定居民")]
    from_account = forms.TypedChoiceField(label="从哪个账户捐出", coerce=int)
    target = forms.ChoiceField(label="捐给", choices=TARGETS, widget=forms.RadioSelect, initial="pool")
    person = forms.CharField(label="对方用户名或手机号", required=False, max_length=50)
    amount = forms.IntegerField(label="积分", min_value=1)
    note = forms.CharField(label="留言", required=False, max_length=200)
    idempotency_key = forms.CharField(widget=forms.HiddenInput, initial=_key)

    def __init__(self, *args, accounts=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.accounts = {a.pk: a for a in accounts}
        self.fields["from_account"].choices = [
            (a.pk, f"{a.get_holder_class_display()}账户（余额 {a.balance} 分）") for a in accounts
        ]

    def clean(self):
        data = super().clean()
        if data.get("target") == "person" and not data.get("person"):
            self.add_error("person", "请输入对方的用户名或手机号")
        account = self.accounts.get(data.get("from_account"))
        if account is not None and data.get("amount") and data["amount"] > account.balance:
            self.add_error("amount", MSG_AMOUNT_BALANCE.format(balance=account.balance))
        return data


class ClaimForm(forms.Form):
    """A holder claims a positive-list item for themself."""

    account = forms.TypedChoiceField(label="计入账户", coerce=int)
    rule = forms.ModelChoiceField(label="项目", queryset=Rule.objects.none(), empty_label="请选择项目")
    quantity = forms.IntegerField(label="数量", min_value=1, max_value=20, initial=1)
    note = forms.CharField(
        label="事由",
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "请写明事由：做了什么、何时何地"},
    )
    evidence = forms.FileField(
        label="佐证照片",
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/*", "capture": "environment"}),
    )

    def __init__(self, *args, accounts=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].choices = [(a.pk, a.get_holder_class_display()) for a in accounts]
        # only the rules for a class the person holds (a resident is not offered 党员 items);
        # claim_submit refuses the rest, this keeps them off the list
        held = {a.holder_class for a in accounts}
        rules = Rule.objects.filter(active=True, list_kind=RuleList.POSITIVE, source_event="")
        self.fields["rule"].queryset = rules.filter(
            pk__in=[r.pk for r in rules if any(r.applies_to(cls) for cls in held)]
        )
        labels = dict(HolderClass.choices)
        self.fields["rule"].label_from_instance = lambda r: (
            f"{r.name}（{r.points} 分/{r.unit}{'，需照片' if r.evidence_required else ''}"
            f"{'，' + '、'.join(str(labels[c]) for c in r.classes if c in labels) + '账户' if r.classes and len(held) > 1 else ''}）"
        )


class StaffClaimForm(forms.Form):
    """代录: staff record any list for a person (or party organisation) in their area."""

    person = forms.CharField(label="居民用户名/手机号（党组织填组织编码）", max_length=64)
    holder_class = forms.ChoiceField(
        label="账户类别", choices=HolderClass.choices, initial=HolderClass.RESIDENT
    )
    rule = forms.ModelChoiceField(label="项目", queryset=Rule.objects.none(), empty_label="请选择项目")
    quantity = forms.IntegerField(label="数量", min_value=1, max_value=20, initial=1)
    note = forms.CharField(label="事由", max_length=300)
    evidence = forms.FileField(
        label="佐证照片", required=False, widget=forms.ClearableFileInput(attrs={"accept": "image/*"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rule"].queryset = Rule.objects.filter(active=True).exclude(list_kind=RuleList.PROHIBITED)
        self.fields["rule"].label_from_instance = lambda r: (
            f"[{r.get_list_kind_display()}] {r.name}（{'+' if r.list_kind == 'positive' else '-'}{r.points} 分）"
        )


class SanctionForm(forms.Form):
    person = forms.CharField(label="居民用户名/手机号（党组织填组织编码）", max_length=64)
    holder_class = forms.ChoiceField(
        label="账户类别", choices=HolderClass.choices, initial=HolderClass.RESIDENT
    )
    rule = forms.ModelChoiceField(
        label="禁止清单项目", queryset=Rule.objects.none(), empty_label="请选择项目"
    )
    reason = forms.CharField(label="事实与依据", max_length=300)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rule"].queryset = Rule.objects.filter(active=True, list_kind=RuleList.PROHIBITED)


class PoolGrantForm(forms.Form):
    person = forms.CharField(label="居民用户名/手机号", max_length=64)
    holder_class = forms.ChoiceField(
        label="账户类别", choices=HolderClass.choices, initial=HolderClass.RESIDENT
    )
    amount = forms.IntegerField(label="积分", min_value=1)
    reason = forms.CharField(label="发放理由", max_length=300)
    idempotency_key = forms.CharField(widget=forms.HiddenInput, initial=_key)


class NoteForm(forms.Form):
    note = forms.CharField(label="意见", max_length=300, required=False)


class ObjectionForm(forms.Form):
    reason = forms.CharField(label="异议理由", max_length=300)


class CodeForm(forms.Form):
    code = forms.CharField(
        label="核销码",
        max_length=12,
        error_messages={"required": "请输入 6 位核销码"},
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "pattern": "[0-9 ]*",
                "placeholder": "6 位数字",
                "class": "code-input",
            }
        ),
    )


class RankingForm(forms.Form):
    holder_class = forms.ChoiceField(label="类别", choices=HolderClass.choices, initial=HolderClass.RESIDENT)
    path = forms.ChoiceField(label="范围")
    year = forms.IntegerField(label="年度", min_value=2000, max_value=2100)

    def __init__(self, *args, paths=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["path"].choices = paths
