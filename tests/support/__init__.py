"""Helpers shared by the tests of every layer (importable as ``support`` from any test)."""
