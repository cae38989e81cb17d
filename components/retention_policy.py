"""The retention policy and the one rule both retentions apply: which runs stay.

A scheduled pipeline keeps the newest `keep_runs` training runs and every run that pushed one of the newest
`keep_versions` served versions. Two retentions apply it: the local runner's, over ML Metadata
(pipeline/retention.py), and the Kubeflow pipeline's RunRetention step, over the run records it leaves in the
bucket (components/run_retention.py). Light on purpose: the runners read it for their flags.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from models.recipe import knob


@dataclasses.dataclass(frozen=True)
class RetentionPolicy:
    """What each run keeps once it ends (pipeline/retention.py and components/run_retention.py: what goes, and
    what never does)."""

    # A year of nightly runs keeps 5 runs' artifacts (about 2 GB on IMDB) and 3 served versions (about 400 MB).
    keep_runs: int = knob(5, "training runs whose artifacts stay, newest first; older runs keep their evaluations")
    keep_versions: int = knob(3, "versions that stay in the serving folder, newest first")

    def validate(self) -> None:
        for flag, value in (("--keep-runs", self.keep_runs), ("--keep-versions", self.keep_versions)):
            if value < 1:
                raise ValueError(
                    f"{flag} (RetentionPolicy) must be at least 1: the newest run and the served version stay; "
                    f"got {value}"
                )

    def kept_versions(self, versions: Sequence[str]) -> list[str]:
        """The served versions that stay (`versions` oldest first): the newest `keep_versions`."""
        return list(versions[-self.keep_versions :])

    def kept_runs(self, runs: Sequence[str], pushed: Mapping[str, set[str]], versions: Sequence[str]) -> set[str]:
        """The runs that stay: the newest `keep_runs` of `runs` (oldest first), and each run whose pushed versions
        (`pushed[run]`) include a kept one of `versions` (oldest first)."""
        self.validate()
        kept_versions = set(self.kept_versions(versions))
        return set(runs[-self.keep_runs :]) | {run for run in runs if pushed.get(run, set()) & kept_versions}
