"""`python -m services.reporting`: serve reporting's API, dashboard and projection."""

from services.reporting.bootstrap import SPEC
from shared.runtime import serve

if __name__ == "__main__":
    serve(SPEC)
