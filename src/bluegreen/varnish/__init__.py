"""Varnish: the admin protocol, the fleet's two phases, the VCL and its names, the tunnel, the counters."""
