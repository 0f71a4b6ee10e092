"""Tests for inspector.signatures, one module per provider."""
