"""Intake's domain: schools, teachers and their records, pure rules and decisions.

Nothing here touches a database, Kafka or HTTP: decide functions take state and a command and
return events (or raise one of shared.errors), `evolve` functions fold events into state.
"""
