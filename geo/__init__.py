"""admon geo package."""
