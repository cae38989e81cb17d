# The image every step of the Kubeflow pipeline runs in: the locked environment
# of `make setup` with the project's code baked in (the compiled spec names no
# module files to fetch). Build it with `make image` (tag = configs.default_image()).
FROM python:3.10-slim

# Same pip as the Makefile's PIP_VERSION.
ARG PIP_VERSION=26.3
# requirements-gpu.lock = requirements.lock + the pinned CUDA libraries TensorFlow
# needs on a GPU (the Trainer asks for one). CPU-only image:
#   make image DOCKER_ARGS="--build-arg LOCK=requirements.lock"
ARG LOCK=requirements-gpu.lock

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TF_USE_LEGACY_KERAS=1 \
    PYTHONPATH=/pipeline

# Must equal pipeline/configs.py CONTAINER_PROJECT_ROOT: the steps import
# components/ and models/ from here and read schemas/ relative to it (their working directory).
WORKDIR /pipeline

# The steps `make setup` runs, from the same lock file (plus the CUDA libraries).
COPY requirements.lock requirements-gpu.lock ./
RUN python -m pip install --no-cache-dir --disable-pip-version-check pip==${PIP_VERSION} \
 && python -m pip install --no-cache-dir --disable-pip-version-check -r ${LOCK}

COPY pipeline/ pipeline/
COPY components/ components/
COPY models/ models/
COPY schemas/ schemas/
COPY run_local.py run_kubeflow.py ./

# What the compiled spec runs (configs.CONTAINER_COMMAND: TFX's KFP v2 entrypoint,
# wrapped for s3://); set here too so the image runs the same command when a spec
# leaves it out.
ENTRYPOINT ["python", "-m", "pipeline.container_entrypoint"]
