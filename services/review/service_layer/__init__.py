"""Review's handlers (load -> one domain call -> append) and the read-side views."""
