"""One record of how long runs took, saying which clock measured what."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

DEVICE_CLOCK = "device clock"
HOST_WALL_CLOCK = "host wall clock"


@dataclass(frozen=True)
class Measurement:
    """Seconds per run over ``runs`` runs, by the device's own clock and by the host's wall clock.

    ``host_wall`` holds the host's wall time per run, communication with the device included
    (one value per timed run, or one per request when a request ran several). The device
    figures come from the device's timer (absent when it did not time the runs);
    ``device_method`` says how it grouped them.
    """

    runs: int
    host_wall: tuple[float, ...] = ()
    device_mean: float | None = None
    device_fastest: float | None = None
    device_method: str = ""

    @property
    def host_mean(self) -> float | None:
        """Mean host wall seconds per run."""
        return statistics.fmean(self.host_wall) if self.host_wall else None

    @property
    def host_median(self) -> float | None:
        """Median host wall seconds per run."""
        return statistics.median(self.host_wall) if self.host_wall else None

    @property
    def host_fastest(self) -> float | None:
        """Fastest host wall seconds per run."""
        return min(self.host_wall) if self.host_wall else None

    @property
    def clock(self) -> str:
        """The clock behind ``mean_seconds``: the device's when it timed the runs."""
        if self.device_mean is not None:
            return f"{DEVICE_CLOCK}, {self.device_method}" if self.device_method else DEVICE_CLOCK
        return HOST_WALL_CLOCK

    @property
    def mean_seconds(self) -> float:
        """Mean seconds per run by ``clock``."""
        value = self.device_mean if self.device_mean is not None else self.host_mean
        return float("nan") if value is None else value

    @property
    def fastest_seconds(self) -> float:
        """Fastest seconds per run by ``clock``."""
        value = self.device_fastest if self.device_mean is not None else self.host_fastest
        return float("nan") if value is None else value

    def to_dict(self) -> dict[str, Any]:
        """Both clocks' figures (None where a clock did not time the runs)."""
        return {
            "runs": self.runs,
            "device": None
            if self.device_mean is None
            else {
                "mean_seconds": self.device_mean,
                "fastest_seconds": self.device_fastest,
                "method": self.device_method,
            },
            "host_wall": None
            if not self.host_wall
            else {"mean_seconds": self.host_mean, "fastest_seconds": self.host_fastest},
        }
