"""Procedure templates as data: clone for a community, edit (a template already in use gets a
new version, so running topics keep theirs)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from qionglai.core.audit import audit_record
from qionglai.core.errors import ApplicationError
from qionglai.users import access

from ..models import PUBLICITY_KINDS, ProcedureTemplate, RecordKind, TemplateStep
from .common import MSG_RECORD_KIND, MSG_TEMPLATE_STEP_FIELD

MSG_TEMPLATE_NOT_CURRENT = "第 {version} 版是历史版本，只能查阅；请修改当前版本"

STEP_EDITABLE = {
    "name",
    "description",
    "actor_role",
    "actor_label",
    "required_records",
    "min_days",
    "quorum_ratio",
    "quorum_strict",
    "pass_basis",
    "pass_ratio",
    "pass_strict",
}


def _copy(source: ProcedureTemplate, **fields) -> ProcedureTemplate:
    template = ProcedureTemplate.objects.create(**fields)
    TemplateStep.objects.bulk_create(
        [
            TemplateStep(
                template=template,
                **{
                    f.name: getattr(step, f.name)
                    for f in TemplateStep._meta.concrete_fields
                    if f.name not in ("id", "template")
                },
            )
            for step in source.steps.order_by("order")
        ]
    )
    return template


def template_clone(*, actor, source: ProcedureTemplate, community, name: str = "") -> ProcedureTemplate:
    """Makes the community's own template from `source`; it becomes the community's current
    version (its earlier one stays for the topics that run on it)."""
    access.require(actor, "consultation.template_manage", community.path)
    with transaction.atomic():
        family = f"community-{community.pk}"
        version = (ProcedureTemplate.objects.filter(family=family).aggregate(v=Max("version"))["v"] or 0) + 1
        ProcedureTemplate.objects.filter(family=family, is_current=True).update(is_current=False)
        template = _copy(
            source,
            family=family,
            version=version,
            name=(name or "").strip() or f"{community.name}议事规则",
            note=f"复制自「{source}」",
            community=community,
            path=community.path,
            is_default=False,
            is_current=True,
            cloned_from=source,
            created_by=actor,
        )
        audit_record(actor=actor, action="template.clone", target=template, data={"source": source.pk})
    return template


def _clean_changes(code: str, changes: dict) -> None:
    unknown = set(changes) - STEP_EDITABLE
    if unknown:
        raise ValidationError(
            {f"steps.{code}": MSG_TEMPLATE_STEP_FIELD.format(fields="、".join(sorted(unknown)))}
        )
    records = changes.get("required_records")
    if records is not None:
        if not isinstance(records, list | tuple):
            raise ValidationError({f"steps.{code}.required_records": "必需记录应为列表"})
        bad = [str(r) for r in records if r not in RecordKind.values]
        if bad:
            raise ValidationError(
                {f"steps.{code}.required_records": MSG_RECORD_KIND.format(kinds="、".join(bad))}
            )


def template_update(
    *, actor, template: ProcedureTemplate, steps: dict[str, dict], name: str | None = None
) -> ProcedureTemplate:
    """Edits several steps (and the name) of a template at once: `steps` maps a step code to
    the fields to change. If any topic runs on this version (or it is not the current one),
    all the edits land together on ONE new version, which becomes current; running topics
    keep the version they started with. Returns the template that holds the edits.

    Only the fields in STEP_EDITABLE change — the steps' kinds and order are the engine's
    contract and stay as they are. Invalid values raise ValidationError keyed by
    `steps.<code>.<field>` and nothing is written."""
    access.require(actor, "consultation.template_manage", template.path)
    if not isinstance(steps, dict) or not all(isinstance(c, dict) for c in steps.values()):
        raise ValidationError({"steps": "请按步骤编码给出要修改的字段"})
    for code, changes in steps.items():
        _clean_changes(code, changes)
    with transaction.atomic():
        template = ProcedureTemplate.objects.select_for_update().get(pk=template.pk)
        known = set(template.steps.values_list("code", flat=True))
        missing = sorted(set(steps) - known)
        if missing:
            raise ValidationError({"steps": f"模板中没有这些步骤：{'、'.join(missing)}"})
        if not template.is_current:
            # edits to an old version would rebuild the rules from it and silently drop what
            # the newer versions changed
            raise ApplicationError(MSG_TEMPLATE_NOT_CURRENT.format(version=template.version))
        source = template
        if template.topics.exists():
            newest = ProcedureTemplate.objects.filter(family=template.family).aggregate(v=Max("version"))["v"]
            ProcedureTemplate.objects.filter(family=template.family, is_current=True).update(is_current=False)
            template = _copy(
                template,
                family=template.family,
                version=newest + 1,
                name=template.name,
                note=template.note,
                community=template.community,
                path=template.path,
                is_default=template.is_default,
                is_current=True,
                cloned_from=template,
                created_by=actor,
            )
        if name is not None and name.strip() and name.strip() != template.name:
            template.name = name.strip()[:100]
            template.save(update_fields=["name"])
        changed = {}
        for step in template.steps.filter(code__in=list(steps)):
            before = {k: str(getattr(step, k)) for k in steps[step.code]}
            for key, value in steps[step.code].items():
                setattr(step, key, value)
            try:
                step.full_clean(exclude=["template"])
            except ValidationError as error:
                raise ValidationError(
                    {f"steps.{step.code}.{field}": msgs for field, msgs in error.message_dict.items()}
                ) from None
            if step.kind in PUBLICITY_KINDS and step.min_days < 1:
                raise ValidationError({f"steps.{step.code}.min_days": "公示期至少 1 天"})
            step.save()
            after = {k: str(getattr(step, k)) for k in steps[step.code]}
            if after != before:
                changed[step.code] = {"before": before, "after": after}
        audit_record(
            actor=actor,
            action="template.update",
            target=template,
            path=template.path,
            data={"source": source.pk, "steps": changed},
        )
    return template


def template_step_update(*, actor, step: TemplateStep, **changes) -> TemplateStep:
    """Edits one step (see `template_update`); returns the step as it is in the version that
    now holds the edit."""
    template = template_update(actor=actor, template=step.template, steps={step.code: changes})
    return template.steps.get(code=step.code)
