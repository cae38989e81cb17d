"""Which project files a component runs, found from its entry modules' imports, and their fingerprint.

TFX's cache key sees a component's inputs and settings, not the Python it
runs: Transform and the Trainer load our code by module path, and our custom
executors by class path. Each component's custom config therefore carries
`fingerprint(entry)`, a hash over the source of every project module the entry
imports, directly or through others (found by reading their `import`
statements, including those inside functions). Change any line the component
can run, and it runs again (and the Kubeflow spec changes). Lists kept by hand
drifted from the imports (issue 30): a walk cannot forget one.
"""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path

from pipeline import configs

# The project's own packages, lowest layer first (tests/code/test_structure.py checks the order).
PROJECT_PACKAGES = ("models", "components", "pipeline", "kubeflow_runner", "tools")


def _module_file(module: str, root: Path) -> str | None:
    """'components.example_gen.corpus' -> 'components/example_gen/corpus.py' (or a package's __init__.py);
    None outside the project."""
    if module.split(".")[0] not in PROJECT_PACKAGES:
        return None
    base = module.replace(".", "/")
    for rel in (f"{base}.py", f"{base}/__init__.py"):
        if (root / rel).is_file():
            return rel
    return None


def _imported(rel: str, root: Path) -> set[str]:
    """The project files that `rel` imports (one level), by its import statements wherever they stand."""
    package = rel.rsplit("/", 1)[0].replace("/", ".")
    found = set()
    for node in ast.walk(ast.parse((root / rel).read_text(), filename=rel)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from . import x, from .y import z
                parent = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*parent, base] if base else parent)
            # `from pkg import name` imports pkg, and pkg/name.py when name is a module
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        found |= {f for f in (_module_file(name, root) for name in names) if f}
    return found


def project_modules(*entries: str, root: Path | None = None) -> list[str]:
    """The entry files and every project file they import, transitively, sorted (relative to the project root)."""
    root = root or configs.PROJECT_ROOT
    seen: set[str] = set()
    todo = list(entries)
    while todo:
        rel = todo.pop()
        if rel not in seen:
            seen.add(rel)
            # Python runs every enclosing package's __init__ before a module of it (components/ and example_gen/).
            parts = rel.split("/")[:-1]
            inits = {"/".join(parts[: i + 1]) + "/__init__.py" for i in range(len(parts))}
            todo.extend({init for init in inits if (root / init).is_file()} | _imported(rel, root))
    return sorted(seen)


def fingerprint(*entries: str, root: Path | None = None) -> str:
    """sha256 over the path and source of every file in project_modules(*entries)."""
    root = root or configs.PROJECT_ROOT
    digest = hashlib.sha256()
    for rel in project_modules(*entries, root=root):
        digest.update(rel.encode() + b"\0" + (root / rel).read_bytes() + b"\0")
    return digest.hexdigest()[:16]
