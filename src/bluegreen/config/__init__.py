"""Configuration: bluegreen.toml read and validated up front, every error naming its key path."""
