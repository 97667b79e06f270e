"""Orgsync's entrypoints: the HTTP API and the registry projection."""
