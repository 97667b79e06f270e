"""What a page needs, composed from the backends' answers (no HTML, no HTTP details)."""
