"""Pure rules of the pages: navigation per role, form fields and their errors, view models."""
