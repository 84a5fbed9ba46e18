"""Evolution API v2 (Baileys)."""
