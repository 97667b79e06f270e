"""`python -m services.orgsync`: serve orgsync on TMIS_HTTP_PORT."""

from services.orgsync.bootstrap import SPEC
from shared.runtime import serve

if __name__ == "__main__":
    serve(SPEC)
