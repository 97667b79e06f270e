"""`python -m services.review`: serve the review HTTP API and its projection consumer."""

from services.review.bootstrap import SPEC
from shared.runtime import serve

serve(SPEC)
