"""Intake: the front door where schools and education bureaus enter schools and teachers.

Intake is the system of record for the school registry and the teacher records. It validates
every submission, keeps the national ID number in a private table (one active post per person
in the province), appends events to its own event store and publishes them through the outbox.
"""
