"""A progress bar for long measurements: candidates done, failed and the best time so far."""

from __future__ import annotations

import sys

from tqdm import tqdm

from projectapi.tune.database import MeasureResult


class Progress:
    """A tqdm bar on stderr fed one result at a time (silent when ``quiet``)."""

    def __init__(self, total: int, label: str, *, done: int = 0, quiet: bool = False) -> None:
        """A bar of ``total`` candidates, ``done`` of them already recorded."""
        self._bar = tqdm(
            total=total, initial=done, desc=label, unit="cand", file=sys.stderr, disable=quiet
        )
        self.failed = 0
        self.best: float | None = None

    def update(self, result: MeasureResult) -> None:
        """Count ``result`` and show failures and the best device time."""
        if not result.ok:
            self.failed += 1
        elif result.best is not None and (self.best is None or result.best < self.best):
            self.best = result.best
        best = "-" if self.best is None else f"{self.best * 1e6:.2f}us"
        self._bar.set_postfix_str(f"failed {self.failed}, best {best}", refresh=False)
        self._bar.update(1)

    def set_total(self, total: int) -> None:
        """Change how many results the bar waits for."""
        self._bar.total = total
        self._bar.refresh()

    def close(self) -> None:
        """End the bar."""
        self._bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
