"""The local, Docker-free stack: Kafka (KRaft, jars from Maven Central), PostgreSQL, services.

``deploy.local.stack`` is the entry point (``tmis up|down|status`` and the integration-test
fixture); the sibling modules each hold one part of it.
"""
