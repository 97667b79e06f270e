"""Reporting's handlers: load facts, call one domain function, append or render."""
