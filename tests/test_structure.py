"""How the code depends on itself: component and model code never import the runners' package."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("module", sorted([*(ROOT / "components").glob("*.py"), *(ROOT / "models").glob("*.py")]),
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_component_and_model_code_do_not_import_the_pipeline_package(module):
    imported = set()
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    assert not {name for name in imported if name == "pipeline" or name.startswith("pipeline.")}


def test_the_trainers_fingerprint_covers_the_code_it_runs_and_not_the_runners_settings():
    from pipeline.pipeline import TRAINER_CODE

    assert "pipeline/configs.py" not in TRAINER_CODE and "models/recipe.py" in TRAINER_CODE


def test_each_setting_has_one_default_the_dataclass():
    import dataclasses
    import inspect

    from models import model, preprocessing
    from pipeline import configs

    defaults = inspect.signature(model.build_model).parameters
    for name in ("embedding_dim", "dropout", "learning_rate", "mask_padding", "steps_per_execution"):
        assert defaults[name].default == getattr(configs.TrainConfig, name), name
    assert not hasattr(preprocessing, "DEFAULTS")  # preprocessing_fn falls back on TransformConfig itself
    fields = {f.name for c in (configs.TransformConfig, configs.TrainConfig) for f in dataclasses.fields(c)}
    for recipe, knobs in configs.RECIPES.items():
        assert set(knobs) <= fields, recipe  # a recipe only names dataclass fields; "default" names none
    assert configs.RECIPES["default"] == {}


@pytest.mark.parametrize("module", sorted((ROOT / "models").glob("*.py")), ids=lambda p: p.name)
def test_model_code_does_not_import_the_components(module):
    """models/ is below components/: TFX components use the model code, never the other way."""
    tree = ast.parse(module.read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {name for name in imported if name == "components" or name.startswith("components.")}


COMMAND_MODULES = ["pipeline.cli", "pipeline.predict", "pipeline.infer", "pipeline.inspect", "pipeline.kubeflow_cli"]


@pytest.mark.parametrize("module", COMMAND_MODULES)
def test_a_command_module_imports_nothing_noisy_before_its_quiet_switch(module):
    """TensorFlow reads its C++ log level once and google.api_core warns while it is imported: a command's
    module must import neither at its top, so that quiet.setup, called in main, comes first."""
    import subprocess
    import sys

    script = (f"import sys, {module}; heavy = sorted(m for m in ('tensorflow', 'tfx', 'apache_beam', "
              "'google.api_core', 'tensorflow_model_analysis') if m in sys.modules); print(heavy)")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]" and done.stderr == "", done.stdout + done.stderr
