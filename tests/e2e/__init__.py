"""End-to-end tests: whole journeys through the real services' public APIs."""
