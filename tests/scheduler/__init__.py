"""Scheduler: leader election, the leader duties, retention, wake-ups, operator views."""
