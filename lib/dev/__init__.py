"""Local development tooling: embedded PostgreSQL, the local server, tokens. Not bundled."""
