"""Benchmarks: scripts that measure the services on a real stack; results in bench/results/."""
