"""The OpenAPI 3.1 document of the product API, generated from the pydantic models in lib.schemas.

    .venv/bin/python -m lib.openapi > openapi.json     # regenerate (a test fails when it is stale)
"""

from __future__ import annotations

import json
import sys
from typing import Any

from pydantic import BaseModel

from lib import schemas

REF = "#/components/schemas/{model}"
MODELS: list[type[BaseModel]] = [schemas.CreateNumberRequest, schemas.SendRequest, schemas.NumberOut,
                                 schemas.NumberList, schemas.MessageOut, schemas.ErrorBody, schemas.EvolutionHealth,
                                 schemas.UploadRequest, schemas.UploadOut]


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _json(model: type[BaseModel], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(model)}}}


def _errors(*codes: int) -> dict[str, Any]:
    text = {400: "invalid input (`validation_failed`, `invalid_json`, ...)", 401: "missing or invalid access token",
            404: "no such resource for this user", 405: "method not allowed", 409: "conflict",
            413: "body over 4.5 MB", 415: "body is not JSON", 422: "the provider refused, or cannot do this",
            429: "rate limited by the provider", 502: "provider error", 503: "provider or database unreachable",
            504: "outcome unknown: the provider may have carried the request out"}
    return {str(c): _json(schemas.ErrorBody, text[c]) for c in codes}


ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
IDEMPOTENCY = {"name": "Idempotency-Key", "in": "header", "schema": {"type": "string", "minLength": 1,
                                                                      "maxLength": 255}}


def document() -> dict[str, Any]:
    components: dict[str, Any] = {}
    for model in MODELS:
        schema = model.model_json_schema(ref_template=REF)
        components.update(schema.pop("$defs", {}))
        components[model.__name__] = schema
    common = (400, 401, 405, 413, 415)
    paths = {
        "/api/v1/numbers": {
            "get": {"summary": "List the caller's numbers", "operationId": "listNumbers",
                    "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                                               "maximum": 100, "default": 50}},
                                   {"name": "cursor", "in": "query", "schema": {"type": "string"}}],
                    "responses": {"200": _json(schemas.NumberList, "a page of numbers"), **_errors(400, 401)}},
            "post": {"summary": "Add a number (creates the provider instance; returns the QR)",
                     "operationId": "createNumber", "parameters": [IDEMPOTENCY],
                     "requestBody": {"required": True, "content": {"application/json": {
                         "schema": _ref(schemas.CreateNumberRequest)}}},
                     "responses": {"201": _json(schemas.NumberOut, "created"),
                                   "200": _json(schemas.NumberOut, "replay of an earlier request with this key"),
                                   **_errors(*common, 409, 422, 429, 502, 503)}},
        },
        "/api/v1/numbers/{id}": {
            "parameters": [ID],
            "get": {"summary": "A number with its status and current QR (poll while scanning)",
                    "operationId": "getNumber",
                    "responses": {"200": _json(schemas.NumberOut, "the number"), **_errors(401, 404)}},
            "delete": {"summary": "Tear the instance down and soft-delete the number (repeatable)",
                       "operationId": "deleteNumber",
                       "responses": {"200": _json(schemas.NumberOut, "deleted"), **_errors(401, 404, 502, 503)}},
        },
        "/api/v1/numbers/{id}/reconnect": {
            "parameters": [ID],
            "post": {"summary": "A fresh QR for a disconnected number", "operationId": "reconnectNumber",
                     "responses": {"200": _json(schemas.NumberOut, "the number with a new QR"),
                                   **_errors(400, 401, 404, 409, 422, 429, 502, 503)}},
        },
        "/api/v1/chats/{id}/send": {
            "parameters": [ID],
            "post": {"summary": "Send text or media by URL, once per Idempotency-Key", "operationId": "sendMessage",
                     "parameters": [{**IDEMPOTENCY, "required": True}],
                     "requestBody": {"required": True, "content": {"application/json": {
                         "schema": _ref(schemas.SendRequest)}}},
                     "responses": {"201": _json(schemas.MessageOut, "accepted by the provider"),
                                   "200": _json(schemas.MessageOut, "replay of an earlier request with this key"),
                                   **_errors(*common, 404, 409, 422, 429, 502, 503, 504)}},
        },
        "/api/v1/messages/{id}/media": {
            "parameters": [ID],
            "get": {"summary": "The message's stored file: a redirect to a short-lived URL", "operationId": "getMedia",
                    "responses": {"302": {"description": "`Location`: a presigned URL valid 5 minutes"},
                                  "202": {"description": "still being fetched from the provider; retry after "
                                                         "`Retry-After` seconds"},
                                  "410": _json(schemas.ErrorBody, "`media_failed`: it could not be stored (reason)"),
                                  **_errors(401, 404, 503)}},
        },
        "/api/v1/media/uploads": {
            "post": {"summary": "A presigned PUT for a file to send (then send it with `media.upload_id`)",
                     "operationId": "createUpload",
                     "requestBody": {"required": True, "content": {"application/json": {
                         "schema": _ref(schemas.UploadRequest)}}},
                     "responses": {"201": _json(schemas.UploadOut, "PUT the bytes to `url`"),
                                   **_errors(400, 401, 405, 413, 415, 503)}},
        },
        "/api/health/evolution": {
            "get": {"summary": "Evolution reachability and instance health (details with the cron secret)",
                    "operationId": "evolutionHealth", "security": [{"cronSecret": []}, {}],
                    "responses": {"200": _json(schemas.EvolutionHealth, "healthy"),
                                  "503": _json(schemas.EvolutionHealth, "unhealthy")}},
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "WhatsApp inbox backend", "version": "1.0.0",
                 "description": "Numbers on GREEN-API or Evolution API behind one interface. Errors are "
                                "`{\"error\": {\"code\", \"message\"}}` with a stable `code`."},
        "servers": [{"url": "/"}],
        "security": [{"supabaseJwt": []}],
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": {
            "supabaseJwt": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                            "description": "a Supabase Auth access token"},
            "cronSecret": {"type": "http", "scheme": "bearer", "description": "CRON_SECRET"}}},
    }


def render() -> str:
    return json.dumps(document(), indent=2, sort_keys=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
