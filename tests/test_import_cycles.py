"""Modules import in one direction: no import cycle through the report or the layout.

The graph is read from the sources (ast), with imports inside functions counted too:
a lazy import hides a cycle from Python's import machinery, not from the design rule.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

SRC = Path(__file__).resolve().parents[1] / "src" / "marrowtox"


def import_graph(root: Path = SRC) -> nx.DiGraph:
    """marrowtox module -> marrowtox modules it imports (top level or inside functions)."""
    mods = {}
    for p in root.rglob("*.py"):
        name = ".".join(p.relative_to(root.parent).with_suffix("").parts)
        mods[name.removesuffix(".__init__")] = p
    g = nx.DiGraph()
    g.add_nodes_from(mods)
    for name, p in mods.items():
        for node in ast.walk(ast.parse(p.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            g.add_edges_from((name, t) for t in targets if t in mods and t != name)
    return g


def test_graph_sees_lazy_imports():
    """The reader finds an import inside a function (else the test below cannot fail)."""
    g = import_graph()
    assert g.has_edge("marrowtox.report.build", "marrowtox.report.clone_figure")
    assert g.has_edge("marrowtox.report.names", "marrowtox.layout")


def test_no_import_cycle_through_report_or_layout():
    g = import_graph()
    ours = [
        c
        for c in nx.simple_cycles(g)
        if any(m.startswith("marrowtox.report") or m == "marrowtox.layout" for m in c)
    ]
    assert not ours, f"import cycles: {ours}"
