"""gan-bench harness: registry, data, training loop, metrics, run store and CLI."""
