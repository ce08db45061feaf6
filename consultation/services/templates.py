"""Procedure templates as data: clone for a community, edit (a template already in use gets a
new version, so running topics keep theirs)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from qionglai.core.audit import audit_record
from qionglai.users import access

from ..models import ProcedureTemplate, RecordKind, TemplateStep
from .common import MSG_RECORD_KIND, MSG_TEMPLATE_STEP_FIELD

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


def template_step_update(*, actor, step: TemplateStep, **changes) -> TemplateStep:
    """Edits a step. If any topic runs on this version, the edit lands on a new version
    (which becomes current) and the returned step is the new version's."""
    template = step.template
    access.require(actor, "consultation.template_manage", template.path)
    unknown = set(changes) - STEP_EDITABLE
    if unknown:
        raise ValidationError({"__all__": MSG_TEMPLATE_STEP_FIELD.format(fields="、".join(sorted(unknown)))})
    records = changes.get("required_records")
    if records is not None:
        bad = [r for r in records if r not in RecordKind.values]
        if bad:
            raise ValidationError({"required_records": MSG_RECORD_KIND.format(kinds="、".join(bad))})
    with transaction.atomic():
        template = ProcedureTemplate.objects.select_for_update().get(pk=template.pk)
        if template.topics.exists() or not template.is_current:
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
            step = template.steps.get(code=step.code)
        before = {k: str(getattr(step, k)) for k in changes}
        for key, value in changes.items():
            setattr(step, key, value)
        step.full_clean(exclude=["template"])
        step.save()
        audit_record(
            actor=actor,
            action="template.step_update",
            target=template,
            data={"step": step.code, "before": before, "after": {k: str(v) for k, v in changes.items()}},
        )
    return step
