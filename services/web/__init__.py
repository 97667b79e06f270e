"""web: the browser front of TMIS (a backend-for-frontend holding no data of its own)."""
