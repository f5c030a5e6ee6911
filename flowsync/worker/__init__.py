"""The worker process: claims steps, runs their actions, reports results."""

from flowsync.worker.config import WorkerConfig
from flowsync.worker.engine import Worker

__all__ = ["Worker", "WorkerConfig"]
