"""The schema tells the truth about what every operation may answer (drf-spectacular
postprocessing hook), in the one error body the API answers with
(governance.kernel.api.errors):
- 401 where an account is needed (no account, or a token that is wrong or expired —
  answered with WWW-Authenticate: Token);
- 404 on a paginated list (``page``): a page past the end is not found (DRF's answer);
- 400 wherever the operation reads query parameters: each is read through bounds
  (governance.kernel.params), and a value outside them is answered 400 naming it.
"""

ERROR_COMPONENT = "Error"
ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "detail": {"type": "string", "description": "说明（中文），告诉调用方如何改正"},
        "code": {"type": "string", "description": "机器可读的错误代码"},
    },
    "required": ["detail"],
}
NO_SUCH_PAGE = {
    "description": "没有这一页（页码超出范围）。",
    "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}}},
}
BAD_QUERY = {
    "description": "查询参数有误（含空字符、超出范围或格式不对）：说明中指出是哪个参数、如何改正。",
    "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}}},
}
UNAUTHENTICATED = {
    "description": "未登录，或令牌无效、已过期（响应头 WWW-Authenticate: Token）。",
    "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}}},
}


def _needs_an_account(operation: dict) -> bool:
    security = operation.get("security")
    # No security at all, or an empty requirement ({}), means anonymous callers are served.
    return bool(security) and all(requirement for requirement in security)


def document_access(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {}).setdefault(ERROR_COMPONENT, ERROR_SCHEMA)
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            if _needs_an_account(operation):
                operation["responses"].setdefault("401", UNAUTHENTICATED)
            query = [p.get("name") for p in operation.get("parameters", []) if p.get("in") == "query"]
            if "page" in query:
                operation["responses"].setdefault("404", NO_SUCH_PAGE)
            if query:
                operation["responses"].setdefault("400", BAD_QUERY)
    return result
