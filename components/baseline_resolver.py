"""Which model a candidate is compared with: the latest model blessed *before* the candidate.

TFX's LatestBlessedModelStrategy returns the latest blessed model. After a run
blesses model A, an unchanged re-run gets A from the Trainer's cache and A as
its own baseline: the Evaluator's inputs differ from the first run's, so it
and the Pusher run again for nothing. Here the candidate is the newest Model
(the resolver node is ordered after the Trainer), and the baseline is the
newest blessed model older than it, a choice that never changes once made:
an unchanged re-run is served from the cache, and a new model is still compared
with the model blessed before it.
"""
from __future__ import annotations

from typing import Dict, List

from tfx import types
from tfx.dsl.input_resolution.strategies.latest_blessed_model_strategy import LatestBlessedModelStrategy


class LatestBlessedBeforeCandidateStrategy(LatestBlessedModelStrategy):
    def _resolve(self, input_dict: Dict[str, List[types.Artifact]], model_channel_key: str,
                 model_blessing_channel_key: str):
        models = input_dict[model_channel_key]
        candidate_id = max(m.id for m in models)
        older = {**input_dict, model_channel_key: [m for m in models if m.id < candidate_id]}
        return super()._resolve(older, model_channel_key, model_blessing_channel_key)
