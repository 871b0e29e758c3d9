"""The tenant registry (`platform/tenants/registry/`) and everything generated from it.

`make tenants` writes the generated files; `make nats-config` prints the NATS server
configuration the platform deploys. Pure functions from registry entries to manifests
and config; the two scripts do the file I/O.
"""
