# Two commands on a fresh machine:
#   make run    set up, then run the pipeline on IMDB end to end
#   make test   set up, then run the tests
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP_VERSION := 26.3
STAMP := $(VENV)/.installed-lock
RUN_ARGS ?=

.PHONY: setup run run-stackoverflow test test-fast lint lock clean image image-check check-tools beam-worker-image compile-kubeflow report report-check bench soak

# Idempotent: re-installs only when requirements.lock changed since the last install.
setup: $(STAMP)

$(STAMP): requirements.lock
	@py=$$(scripts/find-python310) || exit 1; \
	if [ ! -x $(PY) ] || ! $(PY) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))'; then \
	  echo "creating $(VENV) with $$py"; rm -rf $(VENV); "$$py" -m venv $(VENV) || exit 1; \
	fi
	@echo "installing requirements.lock into $(VENV) (about 2 minutes the first time)"
	@# -qq: errors only (a machine-wide pip config may warn about each of its index folders)
	@$(PY) -m pip install --quiet --quiet --disable-pip-version-check pip==$(PIP_VERSION)
	@$(PY) -m pip install --quiet --quiet --disable-pip-version-check -r requirements.lock
	@touch $@

run: setup
	$(PY) run_local.py --dataset imdb $(RUN_ARGS)

run-stackoverflow: setup
	$(PY) run_local.py --dataset stackoverflow $(RUN_ARGS)

# Both cores (pytest-xdist): each test file runs whole in one worker, so its module fixtures run once.
test: setup
	$(PY) -m pytest -n 2 --dist loadfile tests

# The quick tier for the edit-test loop: the code, data and model tests, no whole-pipeline run
# (tests/pipeline/) and none marked slow (own processes: pyproject.toml). CI runs all of `make test`.
# Tiers: tests/README.md.
test-fast: setup
	$(PY) -m pytest -n 2 --dist loadfile -m "not slow" tests/code tests/data tests/model

# ruff's lint rules and formatting (pyproject.toml); CI runs it before the tests.
lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# Issue 30's soak: the retention test's scheduled runs, 10 of them under the default policy (make test runs 3
# under a policy of its own, for CI's time). About 25 minutes here (bench/NOTES.md).
soak: setup
	TC_SOAK_RUNS=10 $(PY) -m pytest tests/pipeline/test_retention.py -k scheduled_runs -p no:cacheprovider -q

# Pipeline vs. the plain Keras tutorial on IMDB and Stack Overflow (DATA_MIRROR for offline), with
# the scaling runs; prints the table and writes build/bench.json. About half an hour on 2 cores.
BENCH_ARGS ?= --scaling 0.25 0.5 1 4
bench: setup
	$(PY) -m bench.run_bench $(BENCH_ARGS)

# The HTML evaluation report of the latest run of NAME, and a look at it in headless
# Chromium (installed from Debian's packages when missing; needs root).
NAME ?= imdb
report: setup
	$(PY) -m tools.inspect report --name $(NAME) --html build/report-$(NAME).html

report-check: report check-tools
	chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1200,2000 \
	  --disable-background-networking --disable-component-update --disable-sync --no-first-run \
	  --screenshot=build/report-$(NAME).png file://$(CURDIR)/build/report-$(NAME).html
	@echo "screenshot: build/report-$(NAME).png"

# Kubeflow: the image every step runs in (Docker, else Podman), and the specs for both corpora.
# VARIANT=gpu (default: the Trainer asks Kubeflow for a GPU) or cpu; `make image` prints the image's digest.
VARIANT ?= gpu
# The name and version as pipeline/configs.py spells them (read as text: no venv needed yet).
IMAGE_NAME := $(shell sed -n 's/^KUBEFLOW_IMAGE_NAME = "\([^"]*\)".*/\1/p' kubeflow_runner/compiler.py)
IMAGE_TAG := $(shell sed -n 's/^PROJECT_VERSION = "\([^"]*\)".*/\1/p' pipeline/configs.py)
IMAGE ?= $(IMAGE_NAME):$(IMAGE_TAG)-$(VARIANT)
LOCK_cpu := requirements-runtime.lock
LOCK_gpu := requirements-gpu.lock
BASE_IMAGE ?= python:3.10-slim
# podman's settings here (runc, cgroupfs, host network, no default ulimits): scripts/containers.conf.
PODMAN := CONTAINERS_CONF=$(CURDIR)/scripts/containers.conf podman
ENGINE ?= $(shell docker info >/dev/null 2>&1 && echo docker || echo '$(PODMAN)')
DOCKER_ARGS ?=

image:
	$(ENGINE) build --network host --build-arg PIP_VERSION=$(PIP_VERSION) --build-arg LOCK=$(LOCK_$(VARIANT)) \
	  --build-arg BASE_IMAGE=$(BASE_IMAGE) $(DOCKER_ARGS) -t $(IMAGE) .
	@echo "image $(IMAGE): $$($(ENGINE) image inspect --format '{{.Id}}' $(IMAGE)), \
	$$($(ENGINE) image inspect --format '{{.Size}}' $(IMAGE) | awk '{printf "%.2f GiB", $$1/2^30}')"
	@echo "push it, then compile with the digest the registry reports: run_kubeflow.py compile --image REGISTRY/$(IMAGE_NAME)@sha256:..."

# The CPU image built with podman (on a local stand-in of the base when no registry answers), checked
# for what it must not hold, and the compiled tiny spec executed with every task inside it.
image-check: setup check-tools
	@$(PODMAN) image exists $(BASE_IMAGE) || $(PODMAN) pull -q $(BASE_IMAGE) >/dev/null 2>&1 \
	  || scripts/standin-base.sh docker.io/library/$(BASE_IMAGE)
	$(MAKE) --no-print-directory image VARIANT=cpu ENGINE='$(PODMAN)'
	@# Unchanged inputs rebuild nothing: the same layers, hence the same image id.
	@before=$$($(PODMAN) image inspect --format '{{.Id}}' $(IMAGE_NAME):$(IMAGE_TAG)-cpu); \
	$(PODMAN) build --network host --build-arg PIP_VERSION=$(PIP_VERSION) --build-arg LOCK=$(LOCK_cpu) \
	  --build-arg BASE_IMAGE=$(BASE_IMAGE) -q -t $(IMAGE_NAME):$(IMAGE_TAG)-cpu . >/dev/null; \
	after=$$($(PODMAN) image inspect --format '{{.Id}}' $(IMAGE_NAME):$(IMAGE_TAG)-cpu); \
	if [ "$$before" = "$$after" ]; then echo "rebuilt from the layer cache: the same image $$after"; \
	else echo "error: an unchanged rebuild made a new image ($$before, then $$after)" >&2; exit 1; fi
	TC_IMAGE=$(IMAGE_NAME):$(IMAGE_TAG)-cpu CONTAINERS_CONF=$(CURDIR)/scripts/containers.conf \
	  $(PY) -m pytest tests/pipeline/test_kubeflow_image.py -p no:cacheprovider

# Beam's worker image for remote runners (Dataflow, Flink, Spark): the pipeline image + Beam's boot program.
# Needs a registry that serves apache/beam_python3.10_sdk (not reachable on the project's machines).
BEAM_VERSION := $(shell sed -n 's/^apache-beam==//p' requirements-runtime.lock)
beam-worker-image:
	$(ENGINE) build --network host -f Dockerfile.beam-worker --build-arg PIPELINE_IMAGE=$(IMAGE) \
	  --build-arg BEAM_VERSION=$(BEAM_VERSION) -t $(IMAGE_NAME)-beam-worker:$(IMAGE_TAG)-$(VARIANT) .

compile-kubeflow: setup
	$(PY) run_kubeflow.py compile --dataset imdb --image $(IMAGE) --output build/kubeflow/imdb.json
	$(PY) run_kubeflow.py compile --dataset stackoverflow --image $(IMAGE) --output build/kubeflow/stackoverflow.json

# Debian's packages the checks use beyond Python (installed when missing; needs root): podman, runc and
# debootstrap for image-check, headless Chromium for the report's rendering test.
check-tools:
	@missing=""; for tool in podman runc debootstrap chromium; do \
	  command -v $$tool >/dev/null 2>&1 || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then echo "installing$$missing"; apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi

# Re-resolve requirements.in in a throw-away venv and pin the result.
lock:
	@py=$$(scripts/find-python310) || exit 1; rm -rf .venv-lock; "$$py" -m venv .venv-lock
	.venv-lock/bin/pip install --quiet pip==$(PIP_VERSION)
	.venv-lock/bin/pip install -r requirements.in
	{ echo "# Generated by 'make lock' from requirements.in with Python 3.10 ($$(.venv-lock/bin/python --version 2>&1)). Do not edit by hand."; \
	  .venv-lock/bin/pip freeze --exclude-editable; } > requirements.lock
	.venv-lock/bin/python scripts/lock-runtime.py
	.venv-lock/bin/python scripts/lock-gpu.py
	rm -rf .venv-lock

clean:
	rm -rf runs .pytest_cache
