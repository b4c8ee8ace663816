"""admon maps package."""
