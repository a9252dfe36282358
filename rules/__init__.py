"""citymind rules library."""
