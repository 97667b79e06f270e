"""The page routers (pages_*.py), their templates and the static files."""
