"""Entry points of the simulator (the `tmis simulate` driver): written with the driver."""
