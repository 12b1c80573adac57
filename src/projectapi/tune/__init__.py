"""Schedule search measured on the device: candidates timed on a pool of boards.

``measure`` times one candidate (an MLF archive) on one board of a template and checks its
outputs against a reference; ``pool`` measures many on N boards at once; ``database`` records
every result durably so a re-run resumes.
"""

from projectapi.tune.database import (
    FAILED_STATUSES,
    OK,
    DatabaseError,
    MeasureResult,
    ResultDatabase,
)
from projectapi.tune.measure import (
    STEPS,
    Candidate,
    MeasureError,
    Reference,
    Slots,
    Target,
    TimeEvaluator,
    measure_candidate,
    measurement_key,
)
from projectapi.tune.pool import MeasurePool, PoolReport, default_builders

__all__ = [
    "FAILED_STATUSES",
    "OK",
    "STEPS",
    "Candidate",
    "DatabaseError",
    "MeasureError",
    "MeasurePool",
    "MeasureResult",
    "PoolReport",
    "Reference",
    "ResultDatabase",
    "Slots",
    "Target",
    "TimeEvaluator",
    "default_builders",
    "measure_candidate",
    "measurement_key",
]
