"""Provider simulators: real HTTP servers speaking each provider's wire contract (dev and tests; not bundled)."""
