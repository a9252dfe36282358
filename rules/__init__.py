"""citymind rules library: YAML rules with safe compiled conditions."""
