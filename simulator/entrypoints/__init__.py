"""Entry points of the simulator: the `tmis simulate` driver (driver.py) and the demo's
printout in the notice's words (notice.py); tmis_cli/commands/{simulate,demo}.py parse the
command line and call them."""
