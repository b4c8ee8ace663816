"""admon web package."""
