"""Label mode on a site: the operator's own VCL stays active and routes each app to its label."""

from __future__ import annotations

from bluegreen.model import Address

LABEL = 'mode = "label"\n'  # the [vcl] lines of a stage in label mode

SITE_VCL = """vcl 4.1;
backend other {{ .host = "127.0.0.1"; .port = "{port}"; }}
sub vcl_recv {{
{routes}    set req.backend_hint = other;
}}
"""


def site_vcl(other: Address, labels: dict[str, str]) -> str:
    """A site's own VCL: each Host to its label, anything else to the server `other`."""
    routes = "".join(f'    if (req.http.host ~ "^{host}(:[0-9]+)?$") {{ return (vcl({label})); }}\n'
                     for host, label in labels.items())
    return SITE_VCL.format(port=other.port, routes=routes)


def use_site_vcl(site, other: Address, labels: dict[str, str], instances=None) -> None:
    """Load the site's own VCL and make it active on every instance (or on `instances`)."""
    for v in instances or site.varnishes:
        with v.connect() as admin:
            admin.vcl_inline("site", site_vcl(other, labels), "warm")
            admin.vcl_use("site")


def labels_of(site, label: str) -> list:
    """The VCL `label` points to on each instance (None where it is missing)."""
    out = []
    for v in site.varnishes:
        with v.connect() as admin:
            entry = next((e for e in admin.vcl_list() if e["name"] == label), None)
        out.append((entry or {}).get("label", {}).get("name"))
    return out


def shop(site, front=0):
    """(color, body) that the app 'shop' (Host: shop) gets through Varnish."""
    return site.served(headers={"Host": "shop"}, front=front)
