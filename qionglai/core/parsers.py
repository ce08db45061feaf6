"""Request parsers for the API (its own module: DRF reads DEFAULT_PARSER_CLASSES while
rest_framework.views is imported, so this must not import views)."""

from __future__ import annotations

from rest_framework import exceptions, parsers

MSG_JSON_DEPTH = "提交的 JSON 嵌套过深"
MSG_JSON_BAD = "提交的内容不是有效的 JSON"
MAX_JSON_DEPTH = 32  # no body of this API nests deeper than a few levels


def _depth_exceeds(value, limit: int) -> bool:
    """Iterative, so a hostile body cannot make the check itself recurse."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in item)
    return False


class JSONParser(parsers.JSONParser):
    """DRF's parser, refusing deep nesting with a 400 (it raised RecursionError, a 500)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as error:
            raise exceptions.ParseError(MSG_JSON_DEPTH) from error
        except exceptions.ParseError as error:
            raise exceptions.ParseError(MSG_JSON_BAD) from error
        if _depth_exceeds(data, MAX_JSON_DEPTH):
            raise exceptions.ParseError(MSG_JSON_DEPTH)
        return data
