"""ExampleGen: DirectoryExampleGen (labelled folders, one per class) and UnlabelledExampleGen (a folder to label),
with what they are made of: the corpus layouts, the file policy and decoding, duplicates and the split plan, the
records they write, and the ingestion report."""
