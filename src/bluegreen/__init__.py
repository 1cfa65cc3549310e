"""bluegreen: zero-downtime blue-green releases behind Varnish."""

__version__ = "0.2.0"
