"""What the knowledge graph raises; every error is a citymind ``ValidationError``:

ValidationError (registry)              (ValueError)
└── KnowledgeError                                    the graph breaks the schema or the catalogue's rules
    ├── UnknownConcept                  (KeyError)    a label that names no node
    └── AmbiguousConcept                (LookupError) a label that names several nodes of one type
"""

from __future__ import annotations

from registry import ValidationError


class KnowledgeError(ValidationError):
    """The graph breaks the schema (unknown type, dangling edge, cycle in a tree, duplicate label) or the
    dispatch catalogue's rules (a duty without a source, a bad date, two leads in force at once)."""


class UnknownConcept(KnowledgeError, KeyError):
    """A label that names no node; the message suggests close matches."""


class AmbiguousConcept(KnowledgeError, LookupError):
    """A label that names several nodes of one type; the message lists them with their codes."""
