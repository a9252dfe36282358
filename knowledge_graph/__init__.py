"""citymind knowledge_graph library."""
