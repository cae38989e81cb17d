import os

# TFT 1.16 and TFMA 0.47 speak Keras 2: tf_keras must back tf.keras, and the
# switch only works if it is set before TensorFlow is first imported.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
