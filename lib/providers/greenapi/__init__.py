"""GREEN-API."""
