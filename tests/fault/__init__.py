"""Fault tests: real workers and a real server, killed, cut off and restarted."""
