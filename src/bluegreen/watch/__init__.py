"""After the switch: the metrics sources (Prometheus, Varnish's log) and the verdict."""
