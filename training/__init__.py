"""citymind training library."""
