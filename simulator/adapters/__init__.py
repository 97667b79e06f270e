"""The simulator's adapters: HTTP clients for the four services (api.py) and where they
answer (endpoints.py), the files it uploads (files.py), consumer lag read from Kafka
(kafka_watch.py), and the progress bars on stderr (progress.py)."""
