"""Use cases every shell (API, dashboard, CLI) asks for, above the engine's Temporal concerns."""
