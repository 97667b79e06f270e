"""`python -m services.intake`: serve the intake HTTP API (and its restructuring follower)."""

from services.intake.bootstrap import SPEC
from shared.runtime import serve

serve(SPEC)
