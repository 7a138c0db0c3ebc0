"""Background jobs: the runner (threads, progress, cancel) and its status widgets."""

from app.jobs.runner import (
    LANE_BACKGROUND,
    LANE_IDLE,
    LANE_INTERACTIVE,
    CancelToken,
    Job,
    JobRunner,
)

__all__ = ["LANE_BACKGROUND", "LANE_IDLE", "LANE_INTERACTIVE", "CancelToken", "Job", "JobRunner"]
