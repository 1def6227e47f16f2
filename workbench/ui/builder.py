"""The Build page: pick a model, fill its template's slots (or write free text), watch the live
checks and the exact text that will be sent, then generate and see the result."""

from __future__ import annotations

from typing import Any

import streamlit as st

from workbench.domain.catalog import (
    OFFLINE,
    PROVIDER_LABELS,
    REWRITE_OPTION,
    ModelSpec,
    ratios_for,
    sizes_for,
)
from workbench.domain.model_options import options_class
from workbench.domain.suites import CATEGORIES
from workbench.domain.templates import Template
from workbench.services import history as history_service
from workbench.services.runs.generation import (
    GenerateRequest,
    InvalidRequest,
    Preview,
    generate_sync,
    parse_request,
    preview,
)
from workbench.services.team import status as status_service
from workbench.services.workbench import Workbench
from workbench.ui.library import VERSION_KEY, linked_version, save_to_library
from workbench.ui.names import made_by, model_name, provider_name
from workbench.ui.navigation import BUILDER_LOAD_KEY
from workbench.ui.rating import rating_widgets
from workbench.ui.recipe import open_from_image
from workbench.ui.refine import REFINE_KEY, refine_panel, to_fill
from workbench.ui.shared import duration, money, page, workbench
from workbench.ui.text import plain
from workbench.ui.widget_value import held, position

LAST_KEY = "builder_last_generation"


def slot_key(template: Template, slot_id: str) -> str:
    return f"slot_{template.id}_{slot_id}"


def _apply_pending_load(wb: Workbench) -> None:
    load: dict[str, Any] | None = st.session_state.pop(BUILDER_LOAD_KEY, None)
    if not load:
        return
    st.session_state[VERSION_KEY] = load.get("library_version_id")
    # A refinement lasts until another prompt is loaded (or "Stop refining").
    if load.get("refine"):
        st.session_state[REFINE_KEY] = load["refine"]
    else:
        st.session_state.pop(REFINE_KEY, None)
    model = wb.catalog.model(load["model"])
    st.session_state["b_model"] = model.id
    template_id = load.get("template_id") or "free-text"
    try:
        template = wb.templates.get(template_id)
    except KeyError:
        template = wb.templates.get("free-text")
    st.session_state[f"b_template_{model.family}"] = template.id
    slots = load.get("slots") or {}
    if template.id == "free-text" or not slots:
        template = wb.templates.get("free-text")
        st.session_state[f"b_template_{model.family}"] = template.id
        slots = {"prompt": load.get("prompt", "")}
    for slot in template.slots:
        st.session_state[slot_key(template, slot.id)] = slots.get(slot.id, "")
    if load.get("provider") in model.providers:
        st.session_state[f"b_provider_{model.id}"] = load["provider"]
    if load.get("aspect_ratio") in model.aspect_ratios:
        st.session_state[f"b_ar_{model.id}"] = load["aspect_ratio"]
    if load.get("size") in model.sizes:
        st.session_state[f"b_size_{model.id}"] = load["size"]
    st.session_state["b_seed"] = "" if load.get("seed") is None else str(load["seed"])


def _load_example(template: Template, index: int) -> None:
    """Fills the slots with an example; an aspect ratio the user already chose is kept."""
    example = template.examples[index]
    for slot in template.slots:
        key = slot_key(template, slot.id)
        if slot.kind == "aspect_ratio" and st.session_state.get(key):
            continue
        st.session_state[key] = example.slots.get(slot.id, "")
    if example.aspect_ratio:
        st.session_state["b_example_ar"] = example.aspect_ratio


def _use_preset(target: str, source: str, accumulate: bool) -> None:
    choice = st.session_state.get(source)
    if choice:
        current = (st.session_state.get(target) or "").strip()
        st.session_state[target] = f"{current}, {choice}" if current and accumulate else choice
        st.session_state[source] = None


def _provider_picker(wb: Workbench, model: ModelSpec) -> str:
    keys = {k.provider: k for k in status_service.provider_keys(wb)}

    def label(provider: str) -> str:
        if provider == OFFLINE:
            return f"{PROVIDER_LABELS[provider]} · no key needed · free"
        state = "key set" if keys[provider].present else "no key"
        return f"{PROVIDER_LABELS[provider]} · {state}"

    options = list(model.providers)
    key = f"b_provider_{model.id}"
    if key not in st.session_state:
        st.session_state[key] = status_service.default_provider(wb, model.id)
    provider = st.selectbox(
        "Provider", options, position(key, options), format_func=label, key=key
    )
    if provider != OFFLINE and not keys[provider].present:
        names = " or ".join(keys[provider].variables)
        st.info(
            f"No key for {PROVIDER_LABELS[provider]}. Set {names} in the environment or in "
            "`.streamlit/secrets.toml`, then restart the app. Until then the attempt is logged "
            "as failed; choose the offline sketch to try the workbench for free."
        )
    return provider


def _slot_inputs(wb: Workbench, model: ModelSpec, template: Template) -> dict[str, str]:
    values: dict[str, str] = {}
    for slot in template.slots:
        key = slot_key(template, slot.id)
        if slot.kind == "aspect_ratio":
            if st.session_state.get(key) not in ("", None, *model.aspect_ratios):
                st.session_state[key] = ""
            values[slot.id] = (
                st.selectbox(
                    slot.label,
                    ["", *model.aspect_ratios],
                    position(key, ["", *model.aspect_ratios]),
                    key=key,
                    help=slot.help,
                    format_func=lambda v: v or "(model default)",
                )
                or ""
            )
            continue
        label = slot.label + (" *" if slot.required else "")
        if to_fill(slot.id) and not (st.session_state.get(key) or "").strip():
            label = f":orange[{slot.label} · to fill]"
        text_col, preset_col = st.columns([3, 2], vertical_alignment="bottom")
        with text_col:
            if slot.multiline:  # a text area commits on Ctrl+Enter or when it loses focus
                values[slot.id] = (
                    st.text_area(
                        label, held(key, ""), height=120, key=key,
                        placeholder=slot.placeholder, help=slot.help,
                    )
                    or ""
                )
            else:  # one-line slots are checked while the user types
                values[slot.id] = (
                    st.text_input(
                        label, held(key, ""), live="400ms", key=key,
                        placeholder=slot.placeholder, help=slot.help,
                    )
                    or ""
                )
        if slot.presets:
            with preset_col:
                source = f"preset_{template.id}_{slot.id}"
                st.selectbox(
                    f"Presets for {slot.label.lower()}",
                    list(slot.presets),
                    index=None,
                    key=source,
                    placeholder="Pick a preset…",
                    label_visibility="collapsed",
                    on_change=_use_preset,
                    args=(key, source, slot.multi),
                )
    return values


def _parameters(model: ModelSpec, template: Template, provider: str) -> dict[str, Any]:
    cols = st.columns(3)
    params: dict[str, Any] = {}
    has_ar_slot = any(s.kind == "aspect_ratio" for s in template.slots)
    ar_key = f"b_ar_{model.id}"
    ratios = ratios_for(model, provider)  # only what this provider can make
    sizes = sizes_for(model, provider)
    example_ar = st.session_state.pop("b_example_ar", None)
    chosen = st.session_state.get(ar_key) not in (None, model.default_aspect_ratio)
    if example_ar in ratios and not chosen:
        st.session_state[ar_key] = example_ar
    if not has_ar_slot:
        if st.session_state.get(ar_key) not in ratios:
            st.session_state[ar_key] = (
                model.default_aspect_ratio if model.default_aspect_ratio in ratios else ratios[0]
            )
        params["aspect_ratio"] = cols[0].selectbox(
            "Aspect ratio",
            list(ratios),
            position(ar_key, list(ratios)),
            key=ar_key,
            help="Sent as the provider's aspect-ratio parameter. A --ar W:H in the text wins.",
        )
    size_key = f"b_size_{model.id}"
    if st.session_state.get(size_key) not in sizes:
        st.session_state[size_key] = model.default_size if model.default_size in sizes else sizes[0]
    params["size"] = cols[1].selectbox(
        "Size",
        list(sizes),
        position(size_key, list(sizes)),
        key=size_key,
        help="Nano Banana: image-size tier. FLUX: megapixels, turned into width x height.",
    )
    params["seed"] = (
        cols[2]
        .text_input(
            "Seed",
            held("b_seed", ""),
            key="b_seed",
            placeholder="random",
            help="A whole number for repeatable results where the provider supports seeds.",
        )
        .strip()
    )
    offer = model.offer(provider)
    if REWRITE_OPTION in options_class(model.options).model_fields and (
        offer.prompt_rewrite is not None and offer.prompt_rewrite.field
    ):  # off unless asked: the image should come from the prompt as written
        params["rewrite"] = st.checkbox(
            "Let the provider rewrite my prompt",
            held(f"b_rewrite_{model.id}", False),
            key=f"b_rewrite_{model.id}",
            help="Prompt upsampling: the provider expands the prompt before generating. "
            "Off, the prompt is sent as written; the choice is logged with the image.",
        )
    return params


def _show_checks(pv: Preview) -> None:
    findings = pv.prepared.findings if pv.prepared else ()
    shown = set()
    for finding in findings:
        shown.add(finding.message)
        if finding.severity == "error":
            st.error(plain(finding.message), icon=":material/error:")
        elif finding.severity == "warning":
            st.warning(plain(finding.message), icon=":material/warning:")
        else:
            st.caption(plain(finding.message))
    for problem in pv.problems:
        if problem not in shown:
            st.error(plain(problem), icon=":material/error:")


def _show_what_is_sent(pv: Preview) -> None:
    if pv.plan is None:
        return
    req = pv.plan.image_request
    st.markdown("**What will be sent**")
    st.code(req.prompt, language=None, wrap_lines=True)
    seed = req.seed if req.seed is not None else "random"
    if req.seed is not None and not req.offer.accepts_seed:
        seed = f"{req.seed} (this provider ignores seeds)"
    st.caption(
        f"{provider_name(req.offer.provider)} · model id `{req.offer.model_id}` · aspect ratio "
        f"{req.aspect_ratio} · size {req.size} ({req.width}×{req.height}) · seed {seed} · "
        f"estimated cost {money(pv.plan.estimated_cost_usd, req.offer.price_confidence)}"
        + (f" ({req.offer.price_source})" if req.offer.price_confidence != "known" else "")
    )
    for note in pv.plan.notes:  # e.g. a ratio sent as a custom width x height
        st.caption(note)


def _stale(
    wb: Workbench, record: history_service.Generation, request: GenerateRequest | None
) -> str:
    """Why a shown result is not the current prompt's, or "" when it is."""
    if request is None:
        return ""
    if record.model != request.model:
        return f"it came from {model_name(wb, record.model)}, not the model chosen now"
    if (record.prompt_written or record.prompt) != request.prompt:
        return "it came from an earlier prompt"
    return ""


def _show_result(wb: Workbench, generation_id: str, request: GenerateRequest | None) -> None:
    found = history_service.detail(wb, generation_id)
    if found is None:
        return
    record = found.record
    stale = _stale(wb, record, request)
    st.subheader("Result")
    if stale:
        st.warning(
            f"Previous result: {stale}. Generate again to see this prompt's result.",
            icon=":material/history:",
        )
    if record.status == "succeeded" and found.image_file:
        st.image(found.image_file, caption=made_by(wb, record.model, record.provider))
    else:
        st.error(plain(history_service.failure_text(record)))
    # Side by side while they fit, wrapping below each other in a narrow column (1280 px
    # screens), never cut to "succ…".
    with st.container(horizontal=True, gap="medium"):
        st.metric("Status", record.status, width="content")
        st.metric("Latency", duration(record.latency_ms), width="content")
        st.metric("Cost", money(record.cost_usd, record.cost_kind), width="content")
    if record.retries:
        st.caption(f"Retried {record.retries}×, waited {record.retry_wait_s or 0:g} s.")
    st.caption(f"Logged as `{generation_id}`; find it again on the History page.")
    if record.status == "succeeded":
        with st.expander("Rate this image", expanded=False):
            rating_widgets(wb, generation_id, found.ratings)


def _why_not(pv: Preview | None, request_problems: list[str], values: dict[str, str]) -> str:
    """The first reason Generate cannot run now, in words, or "" when it can."""
    if pv is None:
        return request_problems[0] if request_problems else "the request has a problem."
    if pv.plan is not None:
        return ""
    if not any(v.strip() for v in values.values()):
        return "the prompt is empty; fill in the slots or load an example."
    return pv.problems[0] if pv.problems else "the prompt has a problem shown above."


@page
def render() -> None:
    wb = workbench()
    _apply_pending_load(wb)
    st.title("Build a prompt")
    open_from_image(wb, BUILDER_LOAD_KEY)
    models = [m.id for m in wb.catalog.models]
    if st.session_state.get("b_model") not in models:
        st.session_state["b_model"] = "nano-banana-2"
    model = wb.catalog.model(
        st.selectbox(
            "Model",
            models,
            position("b_model", models),
            key="b_model",
            format_func=lambda i: f"{wb.catalog.model(i).name} ({wb.catalog.model(i).vendor})",
        )
    )
    st.caption(model.summary)
    provider = _provider_picker(wb, model)
    lineage = refine_panel(model, provider)

    templates = wb.templates.for_family(model.family)
    template_key = f"b_template_{model.family}"
    if st.session_state.get(template_key) not in [t.id for t in templates]:
        st.session_state[template_key] = model.default_template
    template = wb.templates.get(
        st.radio(
            "Template",
            [t.id for t in templates],
            position(template_key, [t.id for t in templates]),
            key=template_key,
            horizontal=True,
            format_func=lambda i: wb.templates.get(i).name,
        )
    )
    st.markdown(f"`{template.structure}`")
    with st.expander("How to write for this template"):
        st.write(template.description)
        for tip in template.tips:
            st.markdown(f"- {tip}")
    for i, example in enumerate(template.examples):
        st.button(
            f"Load example: {example.name}",
            key=f"example_{template.id}_{i}",
            on_click=_load_example,
            args=(template, i),
        )

    build_col, preview_col = st.columns([3, 2], gap="large")
    with build_col:
        values = _slot_inputs(wb, model, template)
        params = _parameters(model, template, provider)
        category = st.selectbox(
            "Category (optional)",
            [None, *CATEGORIES],
            position("b_category", [None, *CATEGORIES]),
            key="b_category",
            format_func=lambda c: "none" if c is None else CATEGORIES[c].label,
            help="Files this image under one of the article's categories, so the "
            "Leaderboard's \"By category\" counts it.",
        )
    written = values.get("prompt", "") if template.id == "free-text" else template.assemble(values)
    request_data = {
        "model": model.id,
        "provider": provider,
        "prompt": written,
        "template_id": template.id,
        "slots": values,
        "aspect_ratio": params.get("aspect_ratio"),
        "size": params["size"],
        "seed": params["seed"] or None,
        "options": {REWRITE_OPTION: True} if params.get("rewrite") else {},
        "category": category,
        **lineage,
    }
    request_data["library_version_id"] = linked_version(wb, request_data)
    with preview_col:
        st.markdown("**Prompt as written**")
        st.code(written or "(empty)", language=None, wrap_lines=True)
        request_problems: list[str] = []
        try:
            request: GenerateRequest | None = parse_request(request_data)
        except InvalidRequest as exc:
            request = None
            request_problems = exc.problems
            for problem in exc.problems:
                st.error(plain(problem), icon=":material/error:")
        pv = preview(wb, request) if request else None
        if pv and not any(v.strip() for v in values.values()):
            st.info(
                "Fill in the slots, or load the example, to see the checks and the text "
                "that will be sent."
            )
        elif pv:
            _show_checks(pv)
            _show_what_is_sent(pv)
        blocked = _why_not(pv, request_problems, values)
        clicked = st.button(
            "Generate",
            type="primary",
            disabled=bool(blocked),
            key="b_generate",
            width="stretch",
            shortcut="Ctrl+Enter",  # Cmd+Enter on a Mac: Streamlit shows the platform's key
            help="Keys: Ctrl+Enter (⌘+Enter on a Mac).",
        )
        if blocked:
            st.caption(plain(f"Generate is off: {blocked}"), help="Details are shown above.")
        # One slot for the result: emptied while the next image is made, so an earlier
        # result is never taken for the new one.
        result = st.empty()
        if clicked and request is not None:
            with result.container(), st.spinner(
                f"Generating with {model.name} via {PROVIDER_LABELS[provider]}…"
            ):
                try:
                    outcome = generate_sync(wb, request)
                except InvalidRequest as exc:
                    st.error(plain(" ".join(exc.problems)))
                else:
                    st.session_state[LAST_KEY] = outcome.id
        save_to_library(wb, request_data)
        if last := st.session_state.get(LAST_KEY):
            with result.container():
                _show_result(wb, last, request)
