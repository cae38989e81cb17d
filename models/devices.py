"""Where the Trainer trains: MirroredStrategy over the visible GPUs, one GPU, or the CPU."""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf


def choose_strategy(devices: Sequence[str] | None = None) -> tf.distribute.Strategy:
    """Mirrored over the visible GPUs, one GPU, or the CPU.

    `devices` forces a MirroredStrategy over the named devices: tests use it
    with logical CPU devices to exercise the multi-device path without a GPU.

    The replicas' gradients are summed on one device, then broadcast
    (ReductionToOneDevice), not by collective all-reduce: whole-document
    batches give each replica an embedding gradient (IndexedSlices) of its own
    length, and the collective all-gather of those failed here with "Shape
    mismatch in the collective instance" (TF 2.16, two logical CPUs). The only
    dense gradients are the Dense layer's (embedding_dim x classes), too small
    for the all-reduce algorithm to matter.
    """
    if devices:
        return mirrored(list(devices))
    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        return mirrored([g.name for g in gpus])
    if gpus:
        return tf.distribute.OneDeviceStrategy(gpus[0].name)
    return tf.distribute.get_strategy()


def mirrored(devices: list[str]) -> tf.distribute.MirroredStrategy:
    return tf.distribute.MirroredStrategy(devices, cross_device_ops=tf.distribute.ReductionToOneDevice())
