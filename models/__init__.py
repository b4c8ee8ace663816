"""admon models package."""
