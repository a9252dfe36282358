"""citymind serving library."""
