"""The [vcl] table of bluegreen.toml: preview trust, the backends' attributes, the probe, the mode.

Every error starts with the key path (vcl.probe.timeout_s: ...), as everywhere in the config.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

from bluegreen.config import values as read
from bluegreen.errors import ConfigError

MODES = ("vcl", "label")
BACKEND_ATTRS = {"connect_timeout": 3600.0, "first_byte_timeout": 86400.0,
                 "between_bytes_timeout": 86400.0, "max_connections": None}


class ProbeConfig(NamedTuple):
    """Varnish's health probe of every backend; its timeout stays under its interval."""

    interval_s: float = 1.0
    timeout_s: float = 0.8
    window: int = 3
    threshold: int = 2


class VclConfig(NamedTuple):
    template: Path | None = None
    preview_from: tuple[str, ...] = ("127.0.0.1",)
    preview_header: str = "X-Bluegreen-Color"
    keep: int = 3
    mode: str = "vcl"
    label: str = "{app}_{stage}"
    backend: dict = {}
    probe: ProbeConfig = ProbeConfig()
    preview_listener: str | None = None
    preview_token_file: Path | None = None
    reveal_color: bool = False
    purge_from: tuple[str, ...] = ("127.0.0.1",)
    cache_split: bool = True
    compile_timeout_s: float = 120.0


def parse_networks(values: list[str], key: str) -> tuple[str, ...]:
    """IP addresses or CIDRs as Varnish's ACLs accept them: no host bits set, never everyone."""
    import ipaddress

    for entry in values:
        try:
            network = ipaddress.ip_network(entry, strict=True)
        except ValueError as exc:
            raise ConfigError(f"{key}: '{entry}' is not an IP address or CIDR with no host bits "
                              f"set ({exc}); Varnish refuses e.g. 10.1.2.3/8, write 10.0.0.0/8") from None
        if network.prefixlen == 0:
            raise ConfigError(f"{key}: '{entry}' would trust every client on the internet; list "
                              "the addresses of your agents and proxies instead")
    return tuple(values)


def parse(raw: dict, base_dir: Path) -> VclConfig:
    read.only(raw, "vcl", {"template", "preview_from", "preview_header", "keep", "mode", "label",
                           "backend", "probe", "preview_listener", "preview_token_file",
                           "reveal_color", "purge_from", "cache_split", "compile_timeout_s"})
    template = read.file_path(raw, "template", base_dir, "vcl.template")
    preview_from = parse_networks(read.str_list(raw, "preview_from", ["127.0.0.1"], "vcl.preview_from"),
                                  "vcl.preview_from")
    purge_from = parse_networks(read.str_list(raw, "purge_from", list(preview_from), "vcl.purge_from"),
                                "vcl.purge_from")
    listener = raw.get("preview_listener")
    if listener is not None:
        listener = read.name(raw, "preview_listener", "vcl.preview_listener")
    label = read.string(raw, "label", "{app}_{stage}", "vcl.label")
    for found in re.findall(r"\{([^{}]*)\}", label):
        if found not in ("app", "stage"):
            raise ConfigError(f"vcl.label: unknown placeholder {{{found}}}; use {{app}} and {{stage}}")
    return VclConfig(
        template=template, preview_from=preview_from,
        preview_header=read.header(raw, "preview_header", "X-Bluegreen-Color", "vcl.preview_header"),
        keep=read.whole(raw, "keep", 3, "vcl.keep", minimum=1, maximum=100),
        mode=read.choice(raw, "mode", "vcl", "vcl.mode", MODES), label=label,
        backend=_backend(read.table(raw, "backend", "vcl")), probe=_probe(read.table(raw, "probe", "vcl")),
        preview_listener=listener,
        preview_token_file=read.file_path(raw, "preview_token_file", base_dir, "vcl.preview_token_file",
                                          must_exist=False),
        reveal_color=read.boolean(raw, "reveal_color", False, "vcl.reveal_color"),
        purge_from=purge_from, cache_split=read.boolean(raw, "cache_split", True, "vcl.cache_split"),
        compile_timeout_s=read.seconds(raw, "compile_timeout_s", 120, "vcl.compile_timeout_s",
                                       minimum=1, maximum=3600))


def _backend(raw: dict) -> dict:
    read.only(raw, "vcl.backend", set(BACKEND_ATTRS))
    attrs: dict[str, float] = {}
    for key, maximum in BACKEND_ATTRS.items():
        if key not in raw:
            continue
        if maximum is None:
            attrs[key] = read.whole(raw, key, None, f"vcl.backend.{key}", minimum=1)
        else:
            attrs[key] = read.seconds(raw, key, None, f"vcl.backend.{key}", maximum=maximum)
    return attrs


def _probe(raw: dict) -> ProbeConfig:
    read.only(raw, "vcl.probe", {"interval_s", "timeout_s", "window", "threshold"})
    interval = read.seconds(raw, "interval_s", 1.0, "vcl.probe.interval_s", minimum=0.1, maximum=600)
    timeout = read.seconds(raw, "timeout_s", min(0.8, interval * 0.8), "vcl.probe.timeout_s",
                           minimum=0.05, maximum=600)
    if timeout >= interval:
        raise ConfigError(f"vcl.probe.timeout_s: {timeout:g} should be less than interval_s "
                          f"({interval:g}): Varnish skips a poll while one is pending, so a hung "
                          "server would be marked sick late")
    window = read.whole(raw, "window", 3, "vcl.probe.window", minimum=1, maximum=64)
    threshold = read.whole(raw, "threshold", min(2, window), "vcl.probe.threshold", minimum=1,
                           maximum=window)
    return ProbeConfig(interval, timeout, window, threshold)
