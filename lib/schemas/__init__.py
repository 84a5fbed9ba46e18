"""Request and response models of the product API (pydantic). The OpenAPI document is generated
from these (`python -m lib.openapi`), so the contract and the validation are one thing.

One module per area, and nothing imported here: a function imports the request models of its own
route (`lib.schemas.messages` for a send), so a cold start builds no class it does not use
(pydantic model classes cost about a millisecond each to create; measured by `bench.cold_start`).
The response models (`responses`) are imported by `lib.openapi` only."""
