"""One httpx client module per backend service, all calling with the user's own token."""
