"""Orgsync's handlers: load, one domain call, append (and the registry follower)."""
