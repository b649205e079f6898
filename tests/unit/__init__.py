"""Unit tests, one package per layer of extender/ (docs/architecture.md)."""
