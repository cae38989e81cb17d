"""The Evaluator's settings (the blessing's bounds): a light module, as the runners' flags are made from it.

models/evaluation.py builds TFMA's config from them; components/evaluator/component.py receives them unchanged.
"""

from __future__ import annotations

import dataclasses

from models.recipe import knob


@dataclasses.dataclass(frozen=True)
class EvaluationConfig:
    """The Evaluator's settings: its executor gets them unchanged (its custom config) and builds TFMA's config
    from them (`make_eval_config`), so a field added here reaches it with no other edit."""

    min_accuracy: float = knob(0.5, "blessing: lowest test accuracy")
    max_accuracy_drop: float = knob(0.01, "blessing: largest accuracy drop against the served model")

    def validate(self) -> None:
        """An accuracy is in [0, 1]: a bound outside it passes or fails every model, so it is a typo."""
        for field, flag in (("min_accuracy", "--min-accuracy"), ("max_accuracy_drop", "--max-accuracy-drop")):
            value = getattr(self, field)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{flag} (EvaluationConfig.{field}) must be between 0 and 1, got {value}")
