"""Adapters: implementations of the ports. ``memory`` holds the shipped fakes."""
