"""Versioned schema migrations, one numbered SQL file each, per database."""
