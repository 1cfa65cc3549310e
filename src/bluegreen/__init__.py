"""bluegreen: zero-downtime blue-green releases behind Varnish."""

__version__ = "0.1.0"
