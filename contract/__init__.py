"""What the composition function, the worker and the platform tree must agree on.

One source for NATS names and subjects, environment variable names, Secret keys,
the HTTP port and probe paths, the image's user id and command lines, and the
job limits' defaults. The function's builders and the worker's settings both
import it; both images carry it whole. Nothing here imports either deployable.
"""
