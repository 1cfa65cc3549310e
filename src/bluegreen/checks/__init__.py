"""Looking at a color from outside: the one HTTP client, the release probe, previews, JUnit."""
