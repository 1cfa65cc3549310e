"""[warmup] on a site, and whether Varnish answered from its cache."""

from __future__ import annotations

WARM = "# the busiest pages\nGET /page/a\nGET /page/b\nHEAD /page/c\n"


def configure(site, requests: str = WARM, table: str = 'requests = "warm.txt"\n') -> None:
    """Add [warmup] (and its requests file) to the config the site has now."""
    (site.root / "warm.txt").write_text(requests)
    site.config.write_text(site.config.read_text() + f"\n[warmup]\n{table}")


def hit(answer) -> bool:
    """Varnish names two transactions in X-Varnish on a cache hit (this one and the fetch's)."""
    return len(answer.headers["x-varnish"].split()) == 2
