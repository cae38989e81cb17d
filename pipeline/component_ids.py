"""The pipelines' component ids: their node names in ML Metadata and their task names in the Kubeflow spec.

pipeline.py gives each component its id from here, and every reader (the run
summary, inspect, infer, the Kubeflow compiler and its resources) looks them up
here: one spelling. Changing one renames the node, so its cached executions are
no longer found.
"""

EXAMPLE_GEN = "DirectoryExampleGen"
STATISTICS_GEN = "StatisticsGen"
SCHEMA_GEN = "ImportSchemaGen"
EXAMPLE_VALIDATOR = "StrictExampleValidator"
DRIFT_CHECK = "DriftCheck"
TRANSFORM = "Transform"
TRAINER = "Trainer"
BASELINE = "ServedModelBaseline"
EVALUATOR = "Evaluator"
LOCAL_PUSHER = "AtomicPusher"  # a serving folder on this machine: an atomic rename
OBJECT_STORE_PUSHER = "Pusher"  # gs://, s3://: TFX's Pusher
PUSHERS = (LOCAL_PUSHER, OBJECT_STORE_PUSHER)
RUN_RETENTION = "RunRetention"  # Kubeflow only: the retention policy over the bucket (a local run applies it itself)

# The inference pipeline (tools.infer)
UNLABELLED_EXAMPLE_GEN = "UnlabelledExampleGen"
BLESSED_MODEL = "BlessedModel"
MODEL_BLESSING = "ModelBlessing"
BULK_INFERRER = "BulkInferrer"
