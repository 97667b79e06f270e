"""Code every TMIS service shares: contracts, event store, outbox, consumers, settings, logging.

Services never import each other; they meet only here and on the Kafka bus.
"""
