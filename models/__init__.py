"""citymind models library."""
