"""Reporting: the materialised comparison views the department publishes (stage table, region
tables, findings, three-way comparison, sign-offs, confirmation tables), as of any date."""
