"""The scheduler process: one leader (by advisory lock) runs the periodic, idempotent duties."""

from flowsync.scheduler.config import SchedulerConfig
from flowsync.scheduler.leader import Scheduler

__all__ = ["Scheduler", "SchedulerConfig"]
