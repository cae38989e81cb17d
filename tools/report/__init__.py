"""The HTML evaluation report (`inspect report --html`): the page (page.py), its sections (sections.py), the
figures (figures.py), the data checks (data_checks.py), why the model answered as it did (why.py), and the facts
read from ML Metadata that the page states (facts.py)."""
