"""The domain: pure, synchronous entities, value objects and rules. No I/O, no adapters."""
