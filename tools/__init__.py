"""The tools used after a run: serve and explain a pushed model (predict), label a folder (infer), and review an
evaluation (inspect, report). They read what the pipeline wrote and import the pipeline's definition; nothing in
pipeline/, components/ or models/ imports them (tests/code/test_structure.py).
"""

import os

# TFT 1.16 and TFMA 0.47 speak Keras 2: tf_keras must back tf.keras, and the
# switch only works if it is set before TensorFlow is first imported.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
