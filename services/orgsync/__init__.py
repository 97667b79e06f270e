"""Orgsync: the quarterly school restructuring job (merge, close, open, rename, re-stage,
change reporting line, move county) as one validated, idempotent batch per decision."""
