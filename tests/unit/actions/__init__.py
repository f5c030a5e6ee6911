"""Tests for flowsync.actions: each action against real local servers, no database."""
