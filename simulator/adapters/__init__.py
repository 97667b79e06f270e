"""Adapters of the simulator (HTTP clients for the services): written with the driver."""
