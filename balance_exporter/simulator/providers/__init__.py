"""One module per simulated provider; registry.py lists them beside the exporter's registry."""
