"""Media: inbound files persisted to Supabase Storage off the webhook path, served to their owner
through short-lived presigned URLs, and files uploaded by the frontend to send.

    store.py    S3 (Supabase Storage's S3 protocol; moto locally) — the only module importing obstore
    jobs.py     persisting with a lease, retries with back-off and a final `failed` state
    serve.py    GET /api/v1/messages/{id}/media: 302 / 202 + Retry-After / 410
    uploads.py  POST /api/v1/media/uploads and resolving an `upload_id` for a send

Importing this package costs nothing: the webhook path imports `jobs` only, and `jobs` imports the
S3 client only when it stores something.
"""
