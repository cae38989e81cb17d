# The image every step of the Kubeflow pipeline runs in: the pipeline's runtime packages (requirements-
# runtime.lock, the part of requirements.lock the steps import) with the project's code baked in (the
# compiled spec names no module files to fetch). `make image` builds it with Docker or Podman.
#
# Two stages: `builder` has a compiler and turns the lock into a virtualenv (pyfarmhash, which TFDV
# needs, is on PyPI as C++ source only); `runtime` copies that virtualenv onto a clean base: no
# compiler, no pip cache, no test tools or notebook stack.
#
# Variants, from the same file (build argument LOCK):
#   CPU: requirements-runtime.lock                     make image VARIANT=cpu
#   GPU: requirements-gpu.lock = the same + the CUDA libraries TensorFlow 2.16.2 was built against
#        (tensorflow[and-cuda]'s pins, as pip wheels; the node's NVIDIA driver is mounted by Kubernetes'
#        device plugin)                                 make image VARIANT=gpu (the default)
ARG BASE_IMAGE=python:3.10-slim

FROM ${BASE_IMAGE} AS builder
# Same pip as the Makefile's PIP_VERSION.
ARG PIP_VERSION=26.3
ARG LOCK=requirements-runtime.lock
RUN apt-get update \
 && apt-get install -y --no-install-recommends g++ \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY requirements-runtime.lock requirements-gpu.lock /tmp/locks/
# --no-deps: exactly the pinned set, nothing the resolver would add (the lock is complete by construction).
# Then, as the official python image does for the standard library, no test suites; no TensorFlow headers
# (422 MB: for compiling custom ops, which no step does); and the shared libraries' symbol tables stripped
# (strip --strip-unneeded keeps what dynamic linking needs; 180 MB of TensorFlow's 965 MB library alone).
RUN python -m pip install --no-cache-dir --disable-pip-version-check pip==${PIP_VERSION} \
 && python -m pip install --no-cache-dir --disable-pip-version-check --no-deps -r /tmp/locks/${LOCK} \
 && rm -rf /opt/venv/lib/python3.10/site-packages/tensorflow/include \
 && find /opt/venv/lib/python3.10/site-packages -type d -name tests -prune -exec rm -rf '{}' + \
 && find /opt/venv -type f -name '*.so*' -exec strip --strip-unneeded '{}' +

FROM ${BASE_IMAGE} AS runtime
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TF_USE_LEGACY_KERAS=1 \
    PYTHONPATH=/pipeline

# Must equal kubeflow_runner/compiler.py CONTAINER_PROJECT_ROOT: the steps import
# components/ and models/ from here and read schemas/ relative to it (their working directory).
WORKDIR /pipeline
COPY pipeline/ pipeline/
COPY kubeflow_runner/ kubeflow_runner/
COPY components/ components/
COPY models/ models/
COPY schemas/ schemas/
COPY run_local.py run_kubeflow.py ./

# What the compiled spec runs (configs.CONTAINER_COMMAND: TFX's KFP v2 entrypoint, wrapped for s3://).
# Kubernetes replaces it with the spec's command, as `podman run --entrypoint` does in make image-check.
ENTRYPOINT ["python", "-m", "kubeflow_runner.container_entrypoint"]
