"""The four TMIS services: intake, review, orgsync, reporting."""
