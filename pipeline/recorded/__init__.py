"""What a run recorded, read back: ML Metadata's store (mlmd.py) and TFMA's output (tfma_results.py). The run
summary and the after-run tools read through here."""
