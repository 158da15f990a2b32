"""Use cases. Services depend on the domain and the ports only."""
