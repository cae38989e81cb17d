"""How the code depends on itself: layers that import downwards only, no cycle, one definition per setting, and
command modules that import nothing noisy before their quiet switch."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from pipeline import code_version

ROOT = Path(__file__).resolve().parents[2]


def test_the_trainers_fingerprint_covers_the_code_it_runs_and_not_the_runners_settings():
    from pipeline import code_version
    from pipeline.pipeline import TRAINER_CODE

    covered = code_version.project_modules(TRAINER_CODE)
    assert "pipeline/configs.py" not in covered and "models/recipe.py" in covered


ENTRIES = [
    "EXAMPLE_GEN_CODE",
    "DRIFT_CHECK_CODE",
    "TRANSFORM_CODE",
    "TRANSFORM_EXECUTOR_CODE",
    "EVALUATOR_CODE",
    "TRAINER_CODE",
]


@pytest.mark.slow
def test_every_project_module_a_component_imports_is_in_its_cache_key():
    """Each entry imported in an interpreter that has no project module loaded: every project module it loads
    must be fingerprinted (the hand-kept lists had lost components/example_gen/ingestion_report.py and
    components/served_model_baseline.py). One interpreter for all entries: the libraries stay loaded."""
    import json
    import subprocess
    import sys

    from pipeline import code_version, pipeline

    entries = {rel: getattr(pipeline, rel) for rel in ENTRIES}
    script = f"""
import importlib, json, sys
import tensorflow, tensorflow_transform, tensorflow_model_analysis, tfx.v1, apache_beam
loaded, ours = {{}}, {code_version.PROJECT_PACKAGES!r}
for entry, rel in {entries!r}.items():
    for name in [n for n in sys.modules if n.split(".")[0] in ours]:
        del sys.modules[name]
    importlib.import_module(rel.removesuffix(".py").replace("/", "."))
    loaded[entry] = [m.__file__ for n, m in list(sys.modules.items()) if n.split(".")[0] in ours]
print(json.dumps(loaded))
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    for entry, files in json.loads(done.stdout.strip().splitlines()[-1]).items():
        loaded = {str(Path(f).resolve().relative_to(ROOT)) for f in files}
        covered = set(code_version.project_modules(entries[entry]))
        assert entries[entry] in loaded and loaded <= covered, (entry, loaded - covered)


def test_a_change_to_an_imported_module_changes_the_fingerprint(tmp_path):
    import shutil

    from pipeline import code_version

    for package in ("components", "models"):
        shutil.copytree(ROOT / package, tmp_path / package)
    before = code_version.fingerprint("components/evaluator/component.py", root=tmp_path)
    baseline = tmp_path / "components" / "served_model_baseline.py"
    baseline.write_text(baseline.read_text() + "\n# edited\n")
    assert code_version.fingerprint("components/evaluator/component.py", root=tmp_path) != before
    report = tmp_path / "components" / "example_gen" / "ingestion_report.py"  # not imported by the Evaluator
    report.write_text(report.read_text() + "\n# edited\n")
    after = code_version.fingerprint("components/evaluator/component.py", root=tmp_path)
    baseline.write_text(baseline.read_text().removesuffix("\n# edited\n"))
    assert code_version.fingerprint("components/evaluator/component.py", root=tmp_path) == before != after


def test_each_setting_has_one_default_the_dataclass():
    import dataclasses
    import inspect

    from models import model, preprocessing, recipe

    defaults = inspect.signature(model.build_model).parameters
    for name in (
        "embedding_dim",
        "dropout",
        "learning_rate",
        "mask_padding",
        "steps_per_execution",
        "embedding_optimizer",
        "embedding_learning_rate",
        "pooling",
    ):
        assert defaults[name].default == getattr(recipe.TrainConfig, name), name
    assert not hasattr(preprocessing, "DEFAULTS")  # preprocessing_fn falls back on TransformConfig itself
    fields = {f.name for c in (recipe.TransformConfig, recipe.TrainConfig) for f in dataclasses.fields(c)}
    for name, knobs in recipe.RECIPES.items():
        assert set(knobs) <= fields, name  # a recipe only names dataclass fields; "default" names none
    assert recipe.RECIPES["default"] == {}
    # A named recipe stays what it was when the defaults move: it names every knob that shapes the model
    # (the seed, materialize and steps per execution shape how it runs, not what it learns).
    shaping = fields - {"seed", "materialize", "steps_per_execution"}
    for name, knobs in recipe.RECIPES.items():
        missing = shaping - set(knobs)
        if knobs.get("embedding_optimizer") == "adam":
            missing -= {"embedding_learning_rate"}  # Adagrad's: unused with Adam
        assert name == "default" or not missing, (name, missing)


COMMAND_MODULES = ["pipeline.cli", "tools.predict", "tools.infer", "tools.inspect", "kubeflow_runner.command_line"]


@pytest.mark.parametrize("module", COMMAND_MODULES)
def test_a_command_module_imports_nothing_noisy_before_its_quiet_switch(module):
    """TensorFlow reads its C++ log level once and google.api_core warns while it is imported: a command's
    module must import neither at its top, so that quiet.setup, called in main, comes first."""
    import subprocess
    import sys

    script = (
        f"import sys, {module}; heavy = sorted(m for m in ('tensorflow', 'tfx', 'apache_beam', "
        "'google.api_core', 'tensorflow_model_analysis') if m in sys.modules); print(heavy)"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]" and done.stderr == "", done.stdout + done.stderr


@pytest.mark.slow
def test_a_new_knob_is_one_dataclass_field_in_both_runners_and_reaches_its_executor(tmp_path):
    """Add a field made with `knob` to TrainConfig, TransformConfig, IngestConfig, DriftConfig and EvaluationConfig
    in a copy of the project: both runners' --help list each flag, and a spec compiled with them carries each value
    under the field's own name in its stage's custom config (the Trainer's, Transform's, ExampleGen's, DriftCheck's
    and the Evaluator's), with no other edit (issue 33)."""
    import json
    import shutil
    import subprocess
    import sys

    copy = tmp_path / "project"
    for name in (*code_version.PROJECT_PACKAGES, "schemas"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("run_local.py", "run_kubeflow.py"):
        shutil.copy(ROOT / name, copy / name)
    new_knobs = {  # file, a line of the class the field goes before, the field
        "label_smoothing": ("models/recipe.py", "    mask_padding: bool = knob(", "float = knob(0.0"),
        "lowercase_only": ("models/recipe.py", "    ngrams: int = knob(", "int = knob(1"),
        "min_file_bytes": ("components/example_gen/settings.py", "    max_file_bytes: int = knob(", "int = knob(0"),
        "min_slice_accuracy": (
            "models/evaluation_settings.py",
            "    max_accuracy_drop: float = knob(",
            "float = knob(0.0",
        ),
        "min_drift_documents": ("models/corpus_profile.py", "    max_drift: str = knob(", "int = knob(0"),
    }
    for field, (path, anchor, declaration) in new_knobs.items():
        text = (copy / path).read_text()
        assert text.count(anchor) == 1, anchor
        (copy / path).write_text(text.replace(anchor, f'    {field}: {declaration}, "the new knob\'s help")\n{anchor}'))

    def run(*argv):
        done = subprocess.run([sys.executable, *argv], cwd=copy, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    for argv in (("run_local.py", "--help"), ("run_kubeflow.py", "compile", "--help")):
        shown = " ".join(run(*argv).split())
        for field in new_knobs:
            assert f"--{field.replace('_', '-')} " in shown and "the new knob's help (default:" in shown, field
    spec = tmp_path / "spec.json"
    values = ["--label-smoothing", "0.1", "--lowercase-only", "2", "--min-file-bytes", "3"]
    values += ["--min-slice-accuracy", "0.4", "--min-drift-documents", "5"]
    run("run_kubeflow.py", "compile", "--dataset", "imdb", "--image", "tc:1", "--output", str(spec), *values)
    tasks = json.loads(spec.read_text())["pipelineSpec"]["root"]["dag"]["tasks"]

    def custom_config(task):
        return json.loads(tasks[task]["inputs"]["parameters"]["custom_config"]["runtimeValue"]["constant"])

    assert custom_config("Trainer")["label_smoothing"] == 0.1
    assert custom_config("Transform")["lowercase_only"] == 2
    assert custom_config("Trainer")["transform"]["lowercase_only"] == 2  # Transform's settings, unchanged
    assert custom_config("Evaluator")["min_slice_accuracy"] == 0.4
    assert custom_config("DriftCheck")["min_drift_documents"] == 5
    # ... and the Evaluator's executor reads it back by its own name.
    read = "import json, sys; from components.evaluator import component; "
    read += "print(component.settings_of(json.load(sys.stdin)))"
    parameters = {"custom_config": json.dumps(custom_config("Evaluator")), "num_classes": 2}
    done = subprocess.run(
        [sys.executable, "-c", read], cwd=copy, input=json.dumps(parameters), capture_output=True, text=True
    )
    assert "min_slice_accuracy=0.4" in done.stdout, done.stderr[-3000:]
    # ExampleGen's is TFX's CustomConfig proto: a Struct packed in an Any (IngestSettings.to_custom_config).
    example_gen = custom_config("DirectoryExampleGen")
    packed = next(v for v in example_gen.values() if isinstance(v, dict))
    assert packed["value"]["min_file_bytes"] == 3, example_gen


PACKAGES = code_version.PROJECT_PACKAGES  # lowest first: each imports only those before it


def _project_imports():
    """{module: {project modules it imports, at any depth of its code}} from the AST of every project file."""
    # Every module at any depth (components/example_gen/ is a package of its own).
    files = {
        ".".join(p.relative_to(ROOT).with_suffix("").parts): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")
    }
    files.update({p.stem: p for p in ROOT.glob("run_*.py")})
    modules = {name.removesuffix(".__init__") for name in files}
    graph = {}
    for name, path in files.items():
        name = name.removesuffix(".__init__")
        edges = set()
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [
                    f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module
                    for a in node.names
                ]
            edges |= {t for t in targets if t in modules and t != name}
        graph[name] = edges
    return graph


def test_no_import_cycle_anywhere_in_the_project():
    graph = _project_imports()
    state, path = {}, []

    def visit(node):
        state[node] = "open"
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                raise AssertionError("import cycle: " + " -> ".join(path[path.index(nxt) :] + [nxt]))
            if nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_imports_point_down_the_layers_and_the_after_run_tools_are_on_top():
    """models < components < pipeline < tools: nothing imports a package above its own; the tools import the
    pipeline's definition."""
    graph = _project_imports()
    rank = {pkg: i for i, pkg in enumerate(PACKAGES)}
    upward = [
        (a, b)
        for a, targets in graph.items()
        for b in targets
        if a.split(".")[0] in rank and rank[b.split(".")[0]] > rank[a.split(".")[0]]
    ]
    assert upward == []
    assert any(b.startswith("pipeline.") for a, targets in graph.items() if a.startswith("tools.") for b in targets)
