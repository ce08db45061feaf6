"""What every admin page shares: one ReadOnlyAdmin for append-only records, and the audit of
every add, change and delete made through the admin (the admin is a page like the others:
issue #12 §3). AdminSite.register mixes AuditedAdminMixin into every registered ModelAdmin, so
no app can forget it."""

from __future__ import annotations

from django.contrib import admin
from django.forms.models import model_to_dict

from qionglai.core.audit import audit_record


def _plain(value):
    if hasattr(value, "pk"):
        return value.pk
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)


def _snapshot(obj, fields) -> dict:
    data = model_to_dict(obj, fields=fields or None)
    return {k: _plain(v) for k, v in data.items() if k not in {"password"}}


VERBS = {"add": "新增", "change": "修改", "delete": "删除"}


def audit_admin_change(*, actor, obj, verb: str, changed: list[str] | None = None) -> None:
    """One audit row for an admin edit: who, what (model and id), and which fields became what."""
    fields = list(changed or [])
    values = _snapshot(obj, fields) if fields and verb != "delete" else {}
    audit_record(
        actor=actor,
        action=f"admin.{verb}",
        target=obj,
        target_type=obj._meta.label_lower,
        target_id=obj.pk or "",
        summary=f"管理后台{VERBS[verb]} {obj._meta.verbose_name}：{obj}"[:255],
        data={"changed": fields, "values": values},
    )


class AuditedAdminMixin:
    """Every add/change/delete in the admin writes an audit row in the same transaction (the
    admin's change and delete views run in one atomic block)."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        changed = list(form.changed_data) if form is not None else []
        audit_admin_change(actor=request.user, obj=obj, verb="change" if change else "add", changed=changed)

    def delete_model(self, request, obj):
        audit_admin_change(actor=request.user, obj=obj, verb="delete")
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            audit_admin_change(actor=request.user, obj=obj, verb="delete")
        super().delete_queryset(request, queryset)

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        for obj in getattr(formset, "new_objects", []):
            audit_admin_change(
                actor=request.user, obj=obj, verb="add", changed=[f.name for f in obj._meta.concrete_fields]
            )
        for obj, fields in getattr(formset, "changed_objects", []):
            audit_admin_change(actor=request.user, obj=obj, verb="change", changed=list(fields))
        for obj in getattr(formset, "deleted_objects", []):
            audit_admin_change(actor=request.user, obj=obj, verb="delete")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Ledgers, histories and audit trails are append-only: changed only by services, never
    edited here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline:
    """Mix into an inline to show rows without editing them."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
