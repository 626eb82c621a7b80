"""The OpenAPI 3.1 description of /api/v1 (kept beside the routes; a test checks coverage)."""

from __future__ import annotations

from typing import Any

ERROR = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"}},
            },
            "required": ["code", "message", "fields"],
        }
    },
}

# (method, path, summary, request body properties or None, success status)
OPERATIONS: tuple[tuple[str, str, str, dict[str, Any] | None, str], ...] = (
    ("post", "/auth/register", "Register with phone, name, password and home locality",
     {"phone": "string", "display_name": "string", "password": "string", "locality_code": "string"}, "201"),
    ("post", "/auth/send-code", "Send a new verification code", {"phone": "string"}, "202"),
    ("post", "/auth/verify", "Confirm the phone number", {"phone": "string", "code": "string"}, "200"),
    ("post", "/auth/token", "Get a bearer token", {"phone": "string", "password": "string"}, "200"),
    ("get", "/me", "The signed-in user", None, "200"),
    ("get", "/localities", "Search localities by name or code (?q=)", None, "200"),
    ("get", "/localities/{code}", "One locality", None, "200"),
    ("get", "/localities/{code}/children", "Children of a locality", None, "200"),
    ("get", "/categories", "Policy domains", None, "200"),
    ("get", "/priorities", "List (?locality=&category=&theme=&status=&q=&sort=&page=)", None, "200"),
    ("post", "/priorities", "Submit a priority or draft",
     {"title": "string", "body": "string", "locality_code": "string", "category": "string",
      "draft": "boolean", "resident_phone": "string"}, "201"),
    ("get", "/priorities/similar", "Similar published priorities for a title (?title=)", None, "200"),
    ("get", "/priorities/{id}", "One priority", None, "200"),
    ("patch", "/priorities/{id}", "Edit while unsupported",
     {"title": "string", "body": "string", "locality_code": "string", "category": "string"}, "200"),
    ("post", "/priorities/{id}/publish", "Publish a draft", None, "200"),
    ("post", "/priorities/{id}/retire", "Retire with a reason",
     {"reason": "string", "explanation": "string"}, "200"),
    ("post", "/priorities/{id}/supports", "Support (201 first time, 200 on replay)",
     {"resident_phone": "string"}, "201"),
    ("post", "/priorities/{id}/follow", "Follow", None, "201"),
    ("delete", "/priorities/{id}/follow", "Unfollow", None, "200"),
    ("get", "/priorities/{id}/comments", "Comments with replies", None, "200"),
    ("post", "/priorities/{id}/comments", "Comment or reply",
     {"body": "string", "parent_id": "integer"}, "201"),
    ("post", "/flags", "Report an item to moderators",
     {"target_type": "string", "target_id": "integer", "reason": "string"}, "201"),
    ("post", "/moderation/{target_type}/{id}/{action}", "Hide or restore (moderators)", None, "200"),
    ("get", "/reports", "Feasibility reports (?status=&locality=&overdue=&page=)", None, "200"),
    ("get", "/reports/{id}", "One feasibility report", None, "200"),
    ("patch", "/reports/{id}", "Write the report (officials in scope)",
     {"legality": "string", "legal_basis": "string", "feasibility": "string",
      "feasibility_explanation": "string", "cost_estimate": "number", "cost_low": "number",
      "cost_high": "number", "cost_breakdown": "array", "duration_months": "integer",
      "department": "string", "decision": "string", "decision_reasons": "string"}, "200"),
    ("post", "/reports/{id}/publish", "Publish, or publish a corrected revision", {"note": "string"}, "200"),
    ("get", "/localities/{code}/reports-dashboard", "Report timeliness for a locality subtree", None, "200"),
    ("get", "/themes", "Themes of a scope (?locality=)", None, "200"),
    ("get", "/themes/hot", "Themes by recent growth (?locality=&days=)", None, "200"),
    ("get", "/themes/{id}", "One theme with trend and localities", None, "200"),
    ("post", "/reports/{id}/milestones", "Add a milestone (officials)", {"title": "string", "due_on": "string", "progress": "integer"}, "201"),
    ("patch", "/milestones/{id}", "Update a milestone's progress (officials)", {"progress": "integer"}, "200"),
    ("post", "/reports/{id}/monitor", "I want to monitor (residents)", None, "201"),
    ("post", "/reports/{id}/monitoring", "A monitoring note with an optional photo (multipart)", {"body": "string"}, "201"),
    ("post", "/reports/{id}/complete", "Completion report (officials)", {"summary": "string"}, "200"),
    ("post", "/reports/{id}/ratings", "Rate the finished work 1-5 once (residents)", {"stars": "integer", "comment": "string"}, "201"),
    ("get", "/reports/{id}/satisfaction", "Satisfaction rate and acceptance", None, "200"),
    ("post", "/priorities/{id}/merge", "Propose merging a duplicate into another priority (facilitators)", {"target_id": "integer", "reason": "string"}, "201"),
    ("post", "/merges/{id}/{decision}", "The duplicate's author accepts or declines a merge", None, "200"),
    ("get", "/notifications", "My in-app notifications", None, "200"),
    ("post", "/ideas", "A central idea (planners)", {"title": "string", "body": "string", "level": "string"}, "201"),
    ("post", "/ideas/{id}/match", "Rank localities and choose a portfolio; kept as an immutable run", {"k": "integer", "max_per_province": "integer", "exclude": "array", "include": "array", "min_participants": "integer", "false_matches": "array", "tradeoff": "boolean"}, "201"),
    ("post", "/ideas/{id}/runs/{run_id}/designate", "Designate pilot sites from a run", {"codes": "array"}, "201"),
    ("post", "/pilots/{id}/refuse", "A site refused; returns the next of its stratum", {"reason": "string"}, "200"),
    ("post", "/processes", "Open a process from a template (vtaiwan, chengdu_pb) or custom stages (facilitators)", {"title": "string", "description": "string", "locality_code": "string", "template": "string", "stages": "array", "starts_at": "string"}, "201"),
    ("get", "/processes/{id}", "A process with its stages and audit log", None, "200"),
    ("post", "/processes/{id}/advance", "Move to the next stage (facilitators); 409 at the last, or if it moved since from_position", {"reason": "string", "from_position": "integer"}, "200"),
    ("post", "/processes/{id}/extend", "Extend the current stage (facilitators)", {"days": "integer", "reason": "string"}, "200"),
    ("post", "/processes/{id}/statements", "Seed or submit a statement (≤ 140 characters)", {"text": "string"}, "201"),
    ("post", "/statements/{id}/moderate", "Approve or reject a statement (facilitators)", {"status": "string"}, "200"),
    ("post", "/statements/{id}/votes", "Agree 1, disagree -1, pass 0; changeable", {"value": "integer"}, "201"),
    ("get", "/processes/{id}/opinion-groups", "Opinion groups, consensus and divisive statements", None, "200"),
    ("post", "/processes/{id}/follow", "Follow a process", None, "201"),
    ("delete", "/processes/{id}/follow", "Stop following a process", None, "200"),
    ("post", "/processes/{id}/updates", "A facilitator's update to followers (in-app and email)", {"title": "string", "body": "string"}, "201"),
    ("patch", "/stages/{id}", "Edit a stage's title and Markdown briefing (facilitators)", {"title": "string", "briefing": "string"}, "200"),
    ("post", "/stages/{id}/attachments", "Attach a PDF or JPEG/PNG/WebP image to a stage's briefing (multipart field file, at most 10 MB; facilitators)", {"file": "string"}, "201"),
    ("delete", "/attachments/{id}", "Remove a briefing attachment (facilitators)", None, "200"),
    ("get", "/processes/{id}/wall", "The meeting wall: newest visible comments, or with ?after=<cursor> the changes since (items, removed ids, next cursor)", None, "200"),
    ("post", "/processes/{id}/wall", "A resident's comment for the meeting wall (1-500 characters, while the stage takes comments)", {"body": "string"}, "201"),
    ("post", "/wall-posts/{id}/moderate", "Hide or show a wall post (facilitators)", {"status": "string"}, "200"),
    ("post", "/processes/{id}/stages/{stage_id}/summary", "Publish a stage summary (201, followers told once) or correct it (200)", {"summary": "string"}, "201"),
    ("get", "/openapi.json", "This document", None, "200"),
)  # fmt: skip


def _operation(summary: str, body: dict[str, Any] | None, status: str, path: str) -> dict:
    operation: dict[str, Any] = {
        "summary": summary,
        "responses": {
            status: {"description": "success"},
            "4XX": {
                "description": "error",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            },
        },
        "parameters": [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in _path_names(path)
        ],
    }
    if body is not None:
        schema = {"type": "object", "properties": {k: {"type": v} for k, v in body.items()}}
        operation["requestBody"] = {"content": {"application/json": {"schema": schema}}}
    return operation


def _path_names(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


def document() -> dict[str, Any]:
    """The OpenAPI document."""
    paths: dict[str, dict[str, Any]] = {}
    for method, path, summary, body, status in OPERATIONS:
        paths.setdefault(path, {})[method] = _operation(summary, body, status, path)
    return {
        "openapi": "3.1.0",
        "info": {"title": "massline API", "version": "1"},
        "servers": [{"url": "/api/v1"}],
        "components": {
            "schemas": {"Error": ERROR},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}, {}],
        "paths": paths,
    }
