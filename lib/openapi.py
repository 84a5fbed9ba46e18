"""The OpenAPI 3.1 document of the product API, generated from the pydantic models in lib.schemas.

    .venv/bin/python -m lib.openapi > openapi.json     # regenerate (a test fails when it is stale)
"""

from __future__ import annotations

import json
import sys
from typing import Any

from pydantic import BaseModel

from lib.schemas import conversations, media, messages, numbers, responses

REF = "#/components/schemas/{model}"
MODELS: list[type[BaseModel]] = [
    numbers.CreateNumberRequest, messages.SendRequest, responses.NumberOut, responses.NumberList, responses.MessageOut,
    responses.ErrorBody, responses.EvolutionHealth, media.UploadRequest, responses.UploadOut,
    conversations.StartChatRequest, responses.ChatOut, responses.ReadOut, responses.ConversationMessageOut,
    conversations.EditMessageRequest, conversations.ReactionRequest, responses.ProviderList,
    conversations.HistoryRequest, responses.HistoryImportList]


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
    return {str(c): _json(responses.ErrorBody, text[c]) for c in codes}


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
                    "responses": {"200": _json(responses.NumberList, "a page of numbers"), **_errors(400, 401)}},
            "post": {"summary": "Add a number (creates the provider instance; returns the QR)",
                     "operationId": "createNumber", "parameters": [IDEMPOTENCY],
                     "requestBody": {"required": True, "content": {"application/json": {
                         "schema": _ref(numbers.CreateNumberRequest)}}},
                     "responses": {"201": _json(responses.NumberOut, "created"),
                                   "200": _json(responses.NumberOut, "replay of an earlier request with this key"),
                                   **_errors(*common, 409, 422, 429, 502, 503)}},
        },
        "/api/v1/numbers/{id}": {
            "parameters": [ID],
            "get": {"summary": "A number with its status and current QR (poll while scanning)",
                    "operationId": "getNumber",
                    "responses": {"200": _json(responses.NumberOut, "the number"), **_errors(401, 404)}},
            "delete": {"summary": "Tear the instance down and soft-delete the number (repeatable); `force=true` "
                                  "deletes here even when the provider stays unreachable (the sync job removes "
                                  "the orphan instance later)",
                       "operationId": "deleteNumber",
                       "parameters": [{"name": "force", "in": "query", "schema": {"type": "boolean",
                                                                                  "default": False}}],
                       "responses": {"200": _json(responses.NumberOut, "deleted"), **_errors(401, 404, 502, 503)}},
        },
        "/api/v1/numbers/{id}/reconnect": {
            "parameters": [ID],
            "post": {"summary": "A fresh QR for a disconnected number", "operationId": "reconnectNumber",
                     "responses": {"200": _json(responses.NumberOut, "the number with a new QR"),
                                   **_errors(400, 401, 404, 409, 422, 429, 502, 503)}},
        },
        "/api/v1/chats/{id}/send": {
            "parameters": [ID],
            "post": {"summary": "Send text or media by URL, once per Idempotency-Key", "operationId": "sendMessage",
                     "parameters": [{**IDEMPOTENCY, "required": True}],
                     "requestBody": {"required": True, "content": {"application/json": {
                         "schema": _ref(messages.SendRequest)}}},
                     "responses": {"201": _json(responses.MessageOut, "accepted by the provider"),
                                   "200": _json(responses.MessageOut, "replay of an earlier request with this key"),
                                   **_errors(*common, 404, 409, 422, 429, 502, 503, 504)}},
        },
        "/api/v1/messages/{id}/media": {
            "parameters": [ID],
            "get": {"summary": "The message's stored file: a redirect to a short-lived URL", "operationId": "getMedia",
                    "responses": {"302": {"description": "`Location`: a presigned URL valid 5 minutes"},
                                  "202": {"description": "still being fetched from the provider; retry after "
                                                         "`Retry-After` seconds"},
                                  "410": _json(responses.ErrorBody, "`media_failed`: it could not be stored (reason)"),
                                  **_errors(401, 404, 503)}},
        },
        "/api/v1/media/uploads": {
            "post": {"summary": "A presigned PUT for a file to send (then send it with `media.upload_id`)",
                     "operationId": "createUpload",
                     "requestBody": {"required": True, "content": {"application/json": {
                         "schema": _ref(media.UploadRequest)}}},
                     "responses": {"201": _json(responses.UploadOut, "PUT the bytes to `url`"),
                                   **_errors(400, 401, 405, 413, 415, 503)}},
        },
        "/api/health/evolution": {
            "get": {"summary": "Evolution reachability and instance health (details with the cron secret)",
                    "operationId": "evolutionHealth", "security": [{"cronSecret": []}, {}],
                    "responses": {"200": _json(responses.EvolutionHealth, "healthy"),
                                  "503": _json(responses.EvolutionHealth, "unhealthy")}},
        },
    }
    paths.update(conversation_paths())
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


def _body(model: type[BaseModel]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(model)}}}


def conversation_paths() -> dict[str, Any]:
    """Conversations and the frontend's flows (lib/conversations.py)."""
    msg = responses.ConversationMessageOut
    return {
        "/api/v1/numbers/{id}/chats": {
            "parameters": [ID],
            "post": {"summary": "Start a conversation: the phone is checked on WhatsApp", "operationId": "startChat",
                     "requestBody": _body(conversations.StartChatRequest),
                     "responses": {"201": _json(responses.ChatOut, "a new chat"),
                                   "200": _json(responses.ChatOut, "the existing chat with this contact"),
                                   **_errors(400, 401, 404, 405, 409, 413, 415, 422, 429, 502, 503)}},
        },
        "/api/v1/chats/{id}": {
            "parameters": [ID],
            "get": {"summary": "The chat with its avatar and, for a group, subject and participants (cached)",
                    "operationId": "getChat", "responses": {"200": _json(responses.ChatOut, "the chat"),
                                                            **_errors(401, 404)}},
        },
        "/api/v1/chats/{id}/read": {
            "parameters": [ID],
            "post": {"summary": "Mark the chat read and send the provider's read receipt", "operationId": "readChat",
                     "responses": {"200": _json(responses.ReadOut, "read"), **_errors(401, 404, 405)}},
        },
        "/api/v1/messages/{id}": {
            "parameters": [ID],
            "get": {"summary": "A message with its reactions and edits", "operationId": "getMessage",
                    "parameters": [{"name": "include_deleted", "in": "query",
                                    "schema": {"type": "string", "enum": ["true", "false"], "default": "false"}}],
                    "responses": {"200": _json(msg, "the message"), **_errors(400, 401, 404)}},
            "patch": {"summary": "Edit the text of a message we sent", "operationId": "editMessage",
                      "requestBody": _body(conversations.EditMessageRequest),
                      "responses": {"200": _json(msg, "edited"),
                                    **_errors(400, 401, 404, 409, 413, 415, 422, 429, 502, 503, 504)}},
            "delete": {"summary": "Delete a message we sent, for everyone (repeatable)", "operationId": "deleteMessage",
                       "responses": {"200": _json(msg, "deleted"), **_errors(401, 404, 409, 422, 429, 502, 503, 504)}},
        },
        "/api/v1/messages/{id}/reaction": {
            "parameters": [ID],
            "post": {"summary": "React to a message; an empty emoji removes our reaction", "operationId": "react",
                     "requestBody": _body(conversations.ReactionRequest),
                     "responses": {"200": _json(msg, "the message with its reactions"),
                                   **_errors(400, 401, 404, 405, 409, 413, 415, 422, 429, 502, 503, 504)}},
        },
        "/api/v1/messages/{id}/resend": {
            "parameters": [ID],
            "post": {"summary": "Send a failed message again, as a new message", "operationId": "resendMessage",
                     "parameters": [IDEMPOTENCY],
                     "responses": {"201": _json(responses.MessageOut, "sent again"),
                                   "200": _json(responses.MessageOut, "replay of an earlier resend"),
                                   **_errors(401, 404, 405, 409, 422, 429, 502, 503, 504)}},
        },
        "/api/v1/numbers/{id}/restart": {
            "parameters": [ID],
            "post": {"summary": "Restart a stuck session", "operationId": "restartNumber",
                     "responses": {"200": _json(responses.NumberOut, "restarted"),
                                   **_errors(401, 404, 405, 409, 422, 429, 502, 503)}},
        },
        "/api/v1/numbers/{id}/history": {
            "parameters": [ID],
            "get": {"summary": "The number's history imports and their progress", "operationId": "listHistoryImports",
                    "responses": {"200": _json(responses.HistoryImportList, "newest first"), **_errors(401, 404)}},
            "post": {"summary": "Import the history the provider holds (resumes an open import)",
                     "operationId": "importHistory",
                     "requestBody": {"required": False, "content": {"application/json": {
                         "schema": _ref(conversations.HistoryRequest)}}},
                     "responses": {"200": _json(responses.HistoryImportOut, "the import after this run"),
                                   **_errors(400, 401, 404, 405, 409, 413, 415)}},
        },
        "/api/v1/providers": {
            "get": {"summary": "The providers this user may add, and what each can do", "operationId": "listProviders",
                    "responses": {"200": _json(responses.ProviderList, "the providers"), **_errors(401)}},
        },
    }


def render() -> str:
    return json.dumps(document(), indent=2, sort_keys=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
