"""The report download in AppTest: History's page of generations and a finished Compare run."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.arena_data import add_generation
from tests.ui import pages
from workbench.services.workbench import Workbench


def _download_labels(at: AppTest) -> list[str]:
    """The report's download buttons (the page has others: an image, a ZIP, a contact sheet)."""
    labels = [str(el.proto.label) for el in at.get("download_button")]
    return [label for label in labels if label.startswith("Download report")]


def test_history_prepares_a_report_of_the_page_on_request(
    data_dir: Path, seeded: Workbench
) -> None:
    add_generation(seeded, "flux-2-pro", "a copper kettle", provider="bfl")
    add_generation(seeded, "nano-banana-2", "a copper kettle")
    at = AppTest.from_function(pages.history_page, default_timeout=30)
    at.run()
    assert not _download_labels(at)  # nothing is built until asked
    at.button(key="h_report_build").click().run()
    assert not at.exception
    labels = _download_labels(at)
    assert len(labels) == 1 and labels[0].startswith("Download report (2 images")
