"""The demo: a local Varnish and the sample app on this machine. Outside the core's import graph."""
