"""Errors of the local stack.

    StackError            an expected failure with a message a person can act on
                          (missing tool, a component that did not become ready, ...)

The CLI prints the message on one line and exits 1; anything else is a bug and keeps its
traceback.
"""


class StackError(Exception):
    """The local stack could not do what was asked; the message says why and what to do."""
