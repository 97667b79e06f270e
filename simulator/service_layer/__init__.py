"""The simulator's driver: plays a plan through the services (run.py) in business-time order
(schedule.py), remembers what the services answered (ledger.py), waits for every service to
catch up (catchup.py) and checks what reporting then shows (verify.py)."""
