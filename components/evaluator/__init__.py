"""The Evaluator: TFX's component with a served baseline (component.py), the figures it records for blessed
models so that a served baseline is not evaluated twice (record.py), and its two TFMA evaluators over one pass of
the model, every metric overall and counts and accuracy per slice (slices.py)."""
