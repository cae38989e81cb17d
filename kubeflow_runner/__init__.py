"""Kubeflow Pipelines: the pipeline compiled to a KFP v2 spec (compiler.py), scheduled (scheduling.py, as who
credentials.py says; Vertex AI: vertex.py), `run_kubeflow.py`'s command line (command_line.py), and the command
every step runs in the image (container_entrypoint.py). Above `pipeline` in the layers: it builds from the same
factory and run request as the local runner."""

import pipeline  # noqa: F401 - its __init__ makes tf_keras back tf.keras before TensorFlow is first imported
