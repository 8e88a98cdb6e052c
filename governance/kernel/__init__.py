"""The kernel: what every layer may use and which imports no app (errors, the shared
cache, middleware, the API base, the personal-data access log, bulk loads)."""
