"""The Build page offers "Let the provider rewrite my prompt" where an offer can turn the
rewrite off (it is off unless ticked), says so where it cannot, and History shows a rewritten
prompt beside the one sent."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.ui import pages

TIMEOUT = 30


def _captions(at: AppTest) -> str:
    return " ".join(str(c.value) for c in at.caption)


def test_build_offers_the_rewrite_where_it_can_be_turned_off(data_dir: Path) -> None:
    at = AppTest.from_function(pages.build_page, default_timeout=TIMEOUT)
    at.run()
    at.selectbox(key="b_model").set_value("flux-2-pro").run()
    at.selectbox(key="b_provider_flux-2-pro").set_value("bfl").run()
    box = at.checkbox(key="b_rewrite_flux-2-pro")
    assert box.value is False and "rewrite my prompt" in box.label
    assert not at.exception

    at.text_input(key="slot_flux-photographic_subject").set_value("A kettle").run()
    assert "no way to turn it off" not in _captions(at)
    assert "you allowed prompt upsampling" not in _captions(at)
    at.checkbox(key="b_rewrite_flux-2-pro").check().run()  # the request now allows it
    assert "you allowed prompt upsampling" in _captions(at)
    at.checkbox(key="b_rewrite_flux-2-pro").uncheck().run()
    at.selectbox(key="b_provider_flux-2-pro").set_value("fal").run()
    assert not [c for c in at.checkbox if c.key == "b_rewrite_flux-2-pro"]
    assert "no way to turn it off" in _captions(at)
