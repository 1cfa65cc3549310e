"""The shared database: expand and contract migrations, the catalogue check."""
