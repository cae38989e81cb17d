"""The corpora the runners know by name (datasets.py), and their download: checked, cached, unpacked (downloads.py,
archives.py)."""
