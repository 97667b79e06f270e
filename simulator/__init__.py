"""The province simulator behind `tmis simulate`: plans a whole synthetic province from a stage
table profile (domain/, pure and seeded) and, later, pushes the plan through the services'
public HTTP APIs (adapters/, entrypoints/). No table writes, no Kafka shortcuts.
"""
