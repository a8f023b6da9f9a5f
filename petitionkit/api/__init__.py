"""The write API under /api/v1 (docs/api.md): bearer tokens, the routes over the services the
workspace calls, and the OpenAPI document generated from the routes."""
