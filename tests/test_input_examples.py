"""Every graph has one input example, and it fits the graph's input contract."""

from __future__ import annotations

import pytest

from graphs.examples import INPUT_EXAMPLES
from graphs.registry import GRAPH_NAMES
from runs.engine import validate_input


def test_every_graph_has_an_example() -> None:
    assert set(INPUT_EXAMPLES) == set(GRAPH_NAMES)


@pytest.mark.parametrize("graph", sorted(GRAPH_NAMES))
def test_the_example_fits_the_graphs_input_contract(graph: str) -> None:
    assert validate_input(graph, INPUT_EXAMPLES[graph])
