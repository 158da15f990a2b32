"""Full-text search on Tantivy."""

from contos_messaging.adapters.tantivy.index import TantivySearchIndex

__all__ = ["TantivySearchIndex"]
