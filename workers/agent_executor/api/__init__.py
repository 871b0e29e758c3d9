"""The worker's HTTP routes, one module per audience."""
