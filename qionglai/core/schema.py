"""The OpenAPI document tells the truth about the API (issue #12 §5): one tag per app with a
Chinese description, a Chinese summary for every operation (the table below, keyed by
operationId, so a new endpoint without one fails tests/core/test_openapi_schema.py), and the
error responses every operation can give in the one error shape of qionglai.core.api."""

from __future__ import annotations

from django.core.exceptions import FieldDoesNotExist
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import serializers
from rest_framework.fields import empty

# the view's top-level package names its app; qionglai.users → users, qionglai.core → core
TAGS: dict[str, str] = {
    "core": "接口目录",
    "users": "账户与令牌：签发 API 令牌、当前用户及其角色",
    "projects": "基础台账：镇街、社区、小区、更新项目、社区基金、问题清单与社区超市",
    "grids": "网格事件：上报、受理、派单、办结、核验、评价与延期，网格与事件分类",
    "consultation": "邻聚小圆桌：议题、会议、表决、公示、异议、成果执行与评议",
    "points": "积分：账户与流水、积分申报与公示异议、兑换、商户核销、转赠与排行",
}


def app_tag(view) -> str:
    module = type(view).__module__.split(".")
    return module[1] if module[0] == "qionglai" and len(module) > 1 else module[0]


class AutoSchema(SpectacularAutoSchema):
    def get_tags(self) -> list[str]:
        return [app_tag(self.view)]

    def get_summary(self) -> str | None:
        from .schema_summaries import SUMMARIES

        return super().get_summary() or SUMMARIES.get(self.get_operation_id())

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        # DRF drops allow_blank from a ModelSerializer's read-only fields, so a choice column
        # with blank=True ("not set yet": tier, due_stage, satisfaction) was documented without ""
        if isinstance(field, serializers.ChoiceField) and field.read_only and "enum" in schema:
            model_field = _model_field(field)
            if model_field is not None and model_field.blank and "" not in schema["enum"]:
                schema["enum"] = [*schema["enum"], ""]
        # `CharField(source="parent.code", default=None)`: the default is what a missing
        # relation gives, so the field is nullable
        if getattr(field, "default", empty) is None and "type" in schema:
            schema["nullable"] = True
        return schema


def _model_field(field):
    meta = getattr(field.parent, "Meta", None)
    model = getattr(meta, "model", None)
    if model is None or not field.source or "." in field.source:
        return None
    try:
        return model._meta.get_field(field.source)
    except FieldDoesNotExist:
        return None


ERROR = {
    "type": "object",
    "description": "出错时的统一格式：message 是给人看的中文说明，fields 按字段列出问题（非字段问题在 non_field_errors）",
    "properties": {
        "message": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": True},
    },
    "required": ["message", "fields"],
}

ERROR_RESPONSES = {
    "400": "提交或查询的内容有误（按字段列出）",
    "401": "令牌无效、过期或已撤销（响应头 WWW-Authenticate: Token）",
    "403": "未登录、未完成动态验证码验证，或没有权限",
    "404": "未找到该记录（路径或请求中的编号），或无权查看；或页码超出范围",
    "409": "系统繁忙（锁冲突），请按 Retry-After 稍后重试",
    "429": "请求过于频繁，请按 Retry-After 稍后重试",
}


def _error(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def postprocess(result, generator, request, public):
    """drf-spectacular postprocessing hook: the Error component, the error responses of every
    operation, and the tag list with its Chinese descriptions."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR
    used: set[str] = set()
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            used.update(operation.get("tags", []))
            codes = {"400", "429"}
            if method != "get":
                codes.add("409")
            if {} not in operation.get("security", []):
                # the operation needs a login; 404 for an unknown or invisible id in the path
                # or the body, and for a page number past the last page
                codes.update({"401", "403", "404"})
            responses = operation.setdefault("responses", {})
            for code in sorted(codes):
                responses.setdefault(code, _error(ERROR_RESPONSES[code]))
    result["tags"] = [{"name": name, "description": TAGS[name]} for name in TAGS if name in used]
    return result
