"""admon flows package."""
