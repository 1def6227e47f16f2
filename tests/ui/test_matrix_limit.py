"""The Matrix page refuses a grid over its limit at once: counted from its axes by
`grids.matrix_cells` before any cell is built (tests/test_size_limits.py shows none is)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.ui import pages


def test_the_matrix_page_refuses_over_its_limit_at_once(data_dir: Path) -> None:
    at = AppTest.from_function(pages.matrix_page, default_timeout=30)
    at.run()
    at.text_area(key="m_prompts").set_value("\n".join(f"prompt {i}" for i in range(20))).run()
    at.text_input(key="m_seeds").set_value(",".join(str(s) for s in range(10_000))).run()
    assert any(
        e.value.startswith("400,000 images (20 prompts × 2 models × 10,000 seeds")
        and "at most 500" in e.value
        for e in at.error
    ), [e.value for e in at.error]
    assert not at.button  # nothing to start
    assert not at.exception
