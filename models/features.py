"""The names every stage agrees on: the examples' features and the files written beside artifacts.

DirectoryExampleGen writes these features, the schemas in schemas/ declare
them, Transform reads the text and label, TFMA slices on the slice features,
and the exported model's signatures and the commands that read its outputs
use the same names. A name changes here, and in the schemas, or nowhere.
"""

TEXT_KEY = "text"  # the document, UTF-8
LABEL_KEY = "label"  # the class's index in the class list
TOKEN_IDS_KEY = "token_ids"  # Transform's output: the model's input
TOKEN_WEIGHTS_KEY = "token_weights"  # Transform's output with weighting tfidf: each id's weight, the model's input
TOKEN_TEXTS_KEY = "token_texts"  # Transform's output: the term each id stands for (explanations)
PATH_KEY = "path"  # a document to label: its path relative to the folder (no label)
WORD_COUNT_KEY = "word_count"
LENGTH_BUCKET_KEY = "length_bucket"
HAS_HTML_KEY = "has_html"
RATING_KEY = "rating"  # IMDB file names: <id>_<rating>.txt
SEEN_IN_TRAIN_KEY = "seen_in_train"  # 1: an exact or near twin of the document is in the train split

# What TFMA slices the test split by (count and accuracy per value).
SLICE_FEATURES = (LABEL_KEY, LENGTH_BUCKET_KEY, HAS_HTML_KEY, RATING_KEY, SEEN_IN_TRAIN_KEY)

# The class list (label i is class_names[i]), beside the examples' splits and in the exported model's
# assets.extra/.
CLASS_NAMES_FILE = "class_names.json"
# What ExampleGen read and skipped (every file with its reason), beside the examples' splits.
REPORT_FILE = "ingestion_report.json"

# The ids Transform reserves (models/preprocessing.py) and the signatures read back: padding and a word outside
# the vocabulary.
PAD_ID, OOV_ID = 0, 1
# The candidate's overall test accuracy, recorded by the Evaluator on its evaluation artifact (components/
# evaluator.py): `inspect runs` reads it from ML Metadata without loading TFMA (3 s of imports).
TEST_ACCURACY_PROPERTY = "test_accuracy"
