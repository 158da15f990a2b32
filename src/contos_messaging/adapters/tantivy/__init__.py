"""Full-text search on Tantivy, its words keyed (see ``vocabulary.py``)."""

from contos_messaging.adapters.tantivy.index import TantivySearchIndex
from contos_messaging.adapters.tantivy.vocabulary import search_key

__all__ = ["TantivySearchIndex", "search_key"]
