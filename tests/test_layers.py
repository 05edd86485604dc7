"""The tree is the architecture: each layer of docs/ARCHITECTURE.md is a folder, a module imports only
from its own layer or below, and no two modules import each other (lazy imports inside functions count).
"""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "rootguard_filters"

# layer -> the layers its modules may import (besides their own)
ALLOWED = {
    "vocabulary": set(),
    "logic": set(),
    "decide": {"logic", "vocabulary"},
    "plumbing": {"decide", "logic", "vocabulary"},
    "controls": {"plumbing", "decide", "logic", "vocabulary"},
    # lambda_handler resets the evidence cache; the family modules are imported by name (importlib)
    "registration": {"plumbing"},
    "deployment": {"registration", "controls", "plumbing", "decide", "logic", "vocabulary"},
    "report": {"vocabulary"},
    "cli": {"deployment", "report", "sandbox", "registration", "vocabulary"},
    "sandbox": set(),
}
REGISTRATION = {"rootguard_filters", "rootguard_filters._autoload", "rootguard_filters._plugins",
                "rootguard_filters.lambda_handler"}
VOCABULARY = {"rootguard_filters.verdict", "rootguard_filters.catalog"}


def layer_of(module):
    if module in REGISTRATION:
        return "registration"
    if module in VOCABULARY:
        return "vocabulary"
    return module.split(".")[1]


def modules():
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports(name, path, known):
    """The pack's modules ``name`` imports, at module level or inside functions."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        found.update(t for t in targets if t in known and t != name)
    return found


def graph():
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def test_every_module_belongs_to_a_known_layer():
    unknown = sorted(name for name in modules() if layer_of(name) not in ALLOWED)
    assert unknown == [], f"modules outside the layers of docs/ARCHITECTURE.md: {unknown}"


def test_modules_import_only_their_own_layer_or_below():
    upward = sorted(f"{a} -> {b}" for a, targets in graph().items() for b in targets
                    if layer_of(a) != layer_of(b) and layer_of(b) not in ALLOWED[layer_of(a)])
    assert upward == []


def test_no_import_circle():
    edges = graph()
    index, low, stack, on_stack, circles = {}, {}, [], set(), []

    def visit(node):   # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in edges:
        if node not in index:
            visit(node)
    assert circles == []


def test_the_layer_check_reads_real_imports():
    # The checks above would pass on an empty graph: prove they read real imports.
    edges = graph()
    assert "rootguard_filters.plumbing.base" in edges["rootguard_filters.controls.root_credentials"]
    assert "rootguard_filters.logic.pattern_errors" in edges["rootguard_filters.logic.cwl_regex"]
    # a lazy import inside a function counts
    assert "rootguard_filters.plumbing.evidence" in edges["rootguard_filters.lambda_handler"]


def test_benchmarks_and_dev_tools_are_not_in_the_package():
    assert not [name for name in modules() if "bench" in name.rsplit(".", 1)[-1]]
