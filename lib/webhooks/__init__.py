"""Webhook reception: authentication of raw bytes, then normalization and one SQL call."""
