"""Every widget is drawn with the session's value as its own default (`ui/widget_value.py`).

The browser learns a value set through `st.session_state` only from the run that set it; a
widget it mounts after a later run has arrived starts from the widget's default and sends that
back as the user's choice. In a real browser this turned Build's model into the first of the
list (the form the journey was filling vanished) and cleared a History rating when a slider
moved. AppTest cannot mount late, so these tests check the condition that makes a late mount
harmless: on every page, in the states a user reaches (a link's filters, a saved rating, a
loaded example, a changed model), each widget's default is the value it holds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

from tests.arena_data import add_generation
from tests.ui import pages
from workbench.services.evidence import ratings as rating_service
from workbench.services.workbench import Workbench


def _elements(node: Any) -> Iterator[Any]:
    yield node
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for child in children.values():
            yield from _elements(child)


def _default(proto: Any) -> Any:
    """The proto's default in the form AppTest reports the widget's current value."""
    kind = type(proto).__name__
    if kind in ("Selectbox", "Radio", "Feedback", "NumberInput", "TextInput", "TextArea"):
        if not proto.HasField("default"):
            return "" if kind in ("TextInput", "TextArea") else None
        return proto.default
    if kind in ("MultiSelect", "ButtonGroup", "Slider"):
        return list(proto.default)
    if kind == "DateInput":
        return [dt.datetime.strptime(d, "%Y/%m/%d").date() for d in proto.default]
    return proto.default  # Checkbox, toggle


def _current(element: Any) -> Any:
    kind = type(element.proto).__name__
    if kind in ("Selectbox", "Radio"):
        return element.index
    if kind == "Feedback":
        return element.value
    if kind in ("MultiSelect", "ButtonGroup"):
        return list(element.indices)
    if kind == "Slider":
        value = element.value
        return [float(v) for v in (value if isinstance(value, (list, tuple)) else [value])]
    if kind == "DateInput":
        value = element.value
        return list(value if isinstance(value, (list, tuple)) else [value])
    if kind in ("TextInput", "TextArea"):
        return element.value or ""
    return element.value


def _agrees(element: Any, default: Any, current: Any) -> bool:
    kind = type(element.proto).__name__
    if kind in ("Selectbox", "Radio") and element.value is None and default is not None:
        try:  # None held where None is an option itself ("none" in a category list)
            return bool(element.options[default] == str(element.format_func(None)))
        except Exception:
            return False
    if kind == "NumberInput" and None not in (default, current):
        return float(default) == float(current)
    return bool(default == current)


def mismatches(at: AppTest) -> list[tuple[str, str, Any, Any]]:
    """(kind, key, default, value) of every widget whose default is not its value."""
    found = []
    for element in _elements(at._tree):
        proto = getattr(element, "proto", None)
        if proto is None or not hasattr(proto, "set_value") or not hasattr(proto, "default"):
            continue
        default, current = _default(proto), _current(element)
        if not _agrees(element, default, current):
            found.append((type(proto).__name__, element.key, default, current))
    return found


def _app(page: Callable[[], None]) -> AppTest:
    at = AppTest.from_function(page, default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    return at


def _seed(wb: Workbench) -> list[str]:
    made = []
    for prompt in ("a red fox in snow", "a blue boat at dawn"):
        made.append(add_generation(wb, "nano-banana-2", prompt, category="landscape"))
        made.append(add_generation(wb, "flux-2-pro", prompt, provider="bfl"))
    return made


def test_build_draws_its_widgets_with_the_sessions_values(data_dir: Path) -> None:
    at = _app(pages.build_page)
    assert mismatches(at) == []
    at.selectbox(key="b_model").set_value("flux-2-pro").run()
    assert mismatches(at) == []
    at.button[0].click().run()  # the first "Load example" button
    assert not at.exception
    assert mismatches(at) == []


def test_history_draws_a_saved_rating_and_a_links_filters_as_defaults(
    data_dir: Path, seeded: Workbench
) -> None:
    made = _seed(seeded)
    rating_service.rate(seeded, rating_service.RatingInput(
        generation_id=made[0], criterion="overall", stars=4))
    at = AppTest.from_function(pages.history_page, default_timeout=30)
    at.query_params["h_models"] = ["nano-banana-2"]
    at.query_params["h_sort"] = "oldest"
    at.query_params["h_min"] = "1"
    at.query_params["open"] = made[0]
    at.run()
    assert not at.exception
    assert at.feedback(key=f"rate_{made[0]}_overall").value == 3  # 4 stars: index 3
    assert mismatches(at) == []
    at.slider(key="h_min").set_value(2.0).run()
    assert mismatches(at) == []


def test_the_other_pages_draw_their_widgets_with_the_sessions_values(
    data_dir: Path, seeded: Workbench
) -> None:
    _seed(seeded)
    links: dict[Callable[[], None], dict[str, Any]] = {  # a link's values, read into the session
        pages.leaderboard_page: {"lb_offline": "1", "lb_providers": ["bfl"]},
        pages.compare_page: {"c_models": ["flux-2-pro"], "c_k": "2", "c_seed": "7",
                             "c_mode": "Free text", "c_text": "a kite"},
        pages.matrix_page: {"m_rows": "seed", "m_cols": "prompt", "m_seeds": "1,2",
                            "m_models": ["nano-banana-2"]},
        pages.arena_page: {},
        pages.measurements_page: {},
        pages.library_page: {},
    }
    for page, query in links.items():
        at = AppTest.from_function(page, default_timeout=30)
        for name, value in query.items():
            at.query_params[name] = value
        at.run()
        assert not at.exception, page.__name__
        assert mismatches(at) == [], page.__name__
        for name in query:  # the link's values were taken, not the defaults
            assert name in at.session_state, (page.__name__, name)
