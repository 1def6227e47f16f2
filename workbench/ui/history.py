"""The History page: filter the log (a measurement condition too) and sort it, page through it
as a table or a gallery, open one generation to see everything logged and what its pixels
measured, rate it, or reopen its prompt in the builder."""

from __future__ import annotations

import json
from functools import partial
from typing import Any, Literal

import pandas as pd
import streamlit as st
from pydantic import ValidationError

from workbench.domain.criteria import load_criteria
from workbench.domain.filters import (
    ADHERENCE_SORTS,
    ARCHIVED,
    JUDGED,
    METRIC_OPS,
    METRIC_SORTS,
    METRICS,
    SORTS,
    STATUSES,
    HistoryFilter,
)
from workbench.errors import WorkbenchError
from workbench.imaging.measure import SPECS, TEXT_ACCURACY
from workbench.services import history as history_service
from workbench.services.delivery import exports
from workbench.services.evidence import ratings as rating_service
from workbench.services.runs import generation, handoff, recovery
from workbench.services.workbench import Workbench
from workbench.ui import names, url_state
from workbench.ui.names import made_by, model_name
from workbench.ui.navigation import HISTORY_OPEN_KEY, open_in_builder
from workbench.ui.rating import rating_widgets
from workbench.ui.refine import refine_action
from workbench.ui.report import report_download
from workbench.ui.run_panel import open_run
from workbench.ui.shared import date_bounds, duration, money, page, workbench
from workbench.ui.text import count, plain
from workbench.ui.widget_value import held, picked, position

SELECTED_KEY = HISTORY_OPEN_KEY
OPEN_KEY = "h_open"
# Formats st.image can send as they are stored (others are converted).
IMAGE_FORMATS: dict[str, Literal["PNG", "JPEG"]] = {"image/png": "PNG", "image/jpeg": "JPEG"}
DIALOG_KEY = "h_dialog"  # a generation whose detail opens in a dialog on this rerun
VIEW_KEY = "h_view"  # the tab shown: "Table" or "Gallery"
ARCHIVED_MESSAGE_KEY = "h_archived_message"
DELETED_MESSAGE_KEY = "h_deleted_message"
DONE_MESSAGE_KEY = "h_done_message"
OPEN_PARAM = "open"  # the URL's query parameter for the open generation
OPEN_WRITTEN_KEY = "h_open_written"  # what this session last put there
# Filters live in the URL (`?h_models=…&h_text=…`, see ui.url_state): a reload, the browser's
# back and forward, and a shared link show the same view; they stay for the session while
# another page is open.
PAGE_FIELDS = (url_state.Field("h_page", "int", 1),)
LINEAGE_KEY = "h_lineage"
ARCHIVED_WORDS = {"hide": "not shown", "only": "only archived", "include": "shown too"}
OP_WORDS = {"<": "below", "<=": "at most", ">": "above", ">=": "at least"}
FIELD_NAMES = {
    "metric_value": "Measurement value", "metric": "Measurement",
    "adherence_min": "Adherence from", "adherence_max": "Adherence to",
}
JUDGED_WORDS = {"any": "any", "judged": "judged", "not_judged": "not judged"}
ADHERENCE_HELP = (
    "The share of the prompt's yes/no checks a Gemini judge passed (Judge page), by the judge "
    "model in use (WORKBENCH_JUDGE_MODEL), on the newest version of the prompt's question set "
    "that has a score. Machine-judged: its agreement with people is on the Judge page."
)


def _sort_label(sort: str) -> str:
    if sort in ADHERENCE_SORTS:
        return f"Adherence (judge): {'highest' if ADHERENCE_SORTS[sort] else 'lowest'} first"
    if sort not in METRIC_SORTS:
        return sort
    metric, highest_first = METRIC_SORTS[sort]
    return f"{SPECS[metric].label}: {'highest' if highest_first else 'lowest'} first"


def _metric_label(metric: str | None) -> str:
    return "any (no condition)" if metric is None else SPECS[metric].label


def _problems(exc: ValidationError) -> str:
    return "; ".join(
        f"{FIELD_NAMES[str(e['loc'][0])]}: {e['msg']}"
        if e["loc"] and str(e["loc"][0]) in FIELD_NAMES
        else e["msg"]
        for e in exc.errors()
    )


def _fields(
    options: dict[str, list[str]], runs: dict[str, str], tags: list[str]
) -> list[url_state.Field]:
    F = url_state.Field
    return [
        F("h_models", "list", [], options["models"]),
        F("h_providers", "list", [], options["providers"]),
        F("h_templates", "list", [], options["templates"]),
        F("h_statuses", "list", [], STATUSES),
        F("h_categories", "list", [], options["categories"]),
        F("h_run", "choice", None, list(runs)),
        F("h_text", "text", ""),
        F("h_dates", "dates", []),
        F("h_min", "float", 0.0, low=0.0, high=5.0),
        F("h_sort", "choice", "newest", SORTS),
        F("h_metric", "choice", None, METRICS),
        F("h_metric_op", "choice", METRIC_OPS[0], METRIC_OPS),
        F("h_metric_value", "text", ""),
        F("h_finals", "bool", False),
        F(LINEAGE_KEY, "text", ""),
        F("h_tags", "list", [], tags),
        F("h_archived", "choice", "hide", ARCHIVED),
        F("h_judged", "choice", "any", JUDGED),
        F("h_adh_min", "int", 0, low=0, high=100),
        F("h_adh_max", "int", 100, low=0, high=100),
    ]


def _filters(wb: Workbench) -> HistoryFilter | None:
    options = history_service.choices(wb)
    runs = history_service.run_choices(wb)
    tags = history_service.tags(wb)
    fields = _fields(options, runs, tags)
    url_state.restore("history", fields)
    f = _filter_widgets(wb, options, runs, tags)
    url_state.publish("history", fields)
    if f is None or not f.uses_adherence:
        return f
    try:
        return history_service.with_judge(wb, f)
    except WorkbenchError as exc:  # an unusable judge setting: the other filters still apply
        st.error(plain(f"Adherence not applied: {exc}"))
        sort = "newest" if f.sort in ADHERENCE_SORTS else f.sort
        return f.model_copy(
            update={"judged": "any", "adherence_min": None, "adherence_max": None, "sort": sort}
        )


def _filter_widgets(
    wb: Workbench, options: dict[str, list[str]], runs: dict[str, str], tags: list[str]
) -> HistoryFilter | None:
    with st.expander("Filters", expanded=True):
        c1, c2, c3, c4 = st.columns(4)
        models = c1.multiselect(
            "Model", options["models"], picked("h_models", options["models"]), key="h_models",
            format_func=names.model_label(wb),
        )
        providers = c2.multiselect(
            "Provider", options["providers"], picked("h_providers", options["providers"]),
            key="h_providers",
            format_func=names.provider_name,
        )
        templates = c3.multiselect(
            "Template", options["templates"], picked("h_templates", options["templates"]),
            key="h_templates",
        )
        statuses = c4.multiselect(
            "Status", list(STATUSES), picked("h_statuses", STATUSES), key="h_statuses"
        )
        c5, c6, c7, c8 = st.columns(4)
        text = c5.text_input(
            "Prompt, tag or note contains",
            held("h_text", ""),
            key="h_text",
            max_chars=500,
            placeholder="words in the prompt as sent, a tag or the note",
        )
        # [] not (): Streamlit's stub lists no empty-tuple range overload; both are the same
        # empty range at runtime (any sequence, same parsed value and widget id).
        dates = c6.date_input(
            "Date range", held("h_dates", []), key="h_dates", format="YYYY-MM-DD"
        )
        min_rating = c7.slider(
            "Minimum rating (mean stars)",
            0.0,
            5.0,
            held("h_min", 0.0),
            step=0.5,
            format="%.1f ★",
            key="h_min",
            help="0 shows everything, rated or not.",
        )
        sort = c8.selectbox(
            "Sort", list(SORTS), position("h_sort", list(SORTS)), key="h_sort",
            format_func=_sort_label,
        )
        c9, c10, c11, c12 = st.columns(4)
        metric = c9.selectbox(
            "Measurement",
            [None, *METRICS],
            position("h_metric", [None, *METRICS]),
            key="h_metric",
            format_func=_metric_label,
            help="Only images with this measurement that meet the condition, e.g. text "
            "accuracy below 1.0 (misspelled text).",
        )
        op = c10.selectbox(
            "is", list(METRIC_OPS), position("h_metric_op", list(METRIC_OPS)), key="h_metric_op",
            format_func=OP_WORDS.__getitem__,
        )
        value = c11.text_input(
            "Value",
            held("h_metric_value", ""),
            key="h_metric_value",
            max_chars=32,
            placeholder="a number, e.g. 1.0",
            help=SPECS[metric].explain if metric else None,
        ).strip()
        if metric and not value:
            c11.caption(f"Type a value to filter by {SPECS[metric].label.lower()}.")
            metric = None
        elif metric and not _is_number(value):
            # the other filters still apply; only this condition waits for a number
            c11.error("Not a number: this condition is not applied.")
            metric, value = None, ""
        finals = c12.checkbox(
            "Finals only",
            held("h_finals", False),
            key="h_finals",
            help="Generations refined from a draft made with the other model family.",
        )
        lineage = c12.text_input(
            "This lineage",
            held(LINEAGE_KEY, ""),
            key=LINEAGE_KEY,
            max_chars=64,
            placeholder="a generation id",
            help="One lineage: the draft it started from and everything refined from it. "
            "\"Show this lineage\" under a generation's chain fills it in.",
        ).strip()
        c13, c14, c15, c16 = st.columns(4)
        chosen_tags = c15.multiselect(
            "Tags", tags, picked("h_tags", tags), key="h_tags",
            help="Generations carrying any of these tags.",
        )
        archived = c16.selectbox(
            "Archived", ARCHIVED, position("h_archived", ARCHIVED), key="h_archived",
            format_func=ARCHIVED_WORDS.__getitem__,
            help="Archived generations are hidden here, on the boards and in the Arena until "
            "restored.",
        )
        categories = c13.multiselect(
            "Category", options["categories"], picked("h_categories", options["categories"]),
            key="h_categories",
            format_func=names.category_label,
        )
        run_id = c14.selectbox(
            "Run", [None, *runs], position("h_run", [None, *runs]), key="h_run",
            format_func=lambda r: runs.get(r, "any run"),
            help="One run's cells (Compare, Matrix or a command-line run).",
        )
        if run_id and c14.button(
            "Open this run's grid", key="h_open_run", icon=":material/grid_view:"
        ):
            open_run(wb, run_id)
        judged, low, high = _adherence_widgets()
    date_from, date_to = date_bounds(dates)
    try:
        return HistoryFilter(
            models=tuple(models),
            providers=tuple(providers),
            templates=tuple(templates),
            statuses=tuple(statuses),
            categories=tuple(categories),
            run_id=run_id,
            text=text or "",
            date_from=date_from,
            date_to=date_to,
            min_rating=min_rating or None,
            sort=sort,
            metric=metric,
            metric_op=op,
            metric_value=value or None,
            finals=finals,
            lineage=lineage or None,
            tags=tuple(chosen_tags),
            archived=archived,
            judged=judged,
            adherence_min=low / 100 if low > 0 else None,
            adherence_max=high / 100 if high < 100 else None,
        )
    except ValidationError as exc:
        st.error("Filter not applied: " + _problems(exc))
        return None


def _adherence_widgets() -> tuple[str, int, int]:
    """The adherence choice and bounds (whole percent; 0 and 100 bound nothing)."""
    c1, c2, c3, _ = st.columns(4)
    judged = c1.selectbox(
        "Adherence (judge)", JUDGED, position("h_judged", JUDGED), key="h_judged",
        format_func=JUDGED_WORDS.__getitem__,
        help=ADHERENCE_HELP,
    )
    low = c2.number_input("Adherence from (%)", 0, 100, held("h_adh_min", 0), 5, "%d",
                          key="h_adh_min")
    high = c3.number_input("Adherence to (%)", 0, 100, held("h_adh_max", 100), 5, "%d",
                           key="h_adh_max")
    return str(judged), int(low), int(high)


def _metric_column(metric: str) -> Any:
    label = SPECS[metric].label
    if metric == TEXT_ACCURACY:
        return st.column_config.NumberColumn(label, format="percent", help=SPECS[metric].explain)
    return st.column_config.NumberColumn(label, format="%.2f", help=SPECS[metric].explain)


def _table(
    wb: Workbench, result: history_service.HistoryPage, metrics: tuple[str, ...]
) -> None:
    rows = result.rows
    measured = {
        metric: [result.measures.get(r.id, {}).get(metric) for r in rows] for metric in metrics
    }
    frame = pd.DataFrame(
        {
            "thumbnail": [result.thumbnails.get(r.id) for r in rows],
            "when": [r.created_at for r in rows],
            "model": [model_name(wb, r.model) for r in rows],
            "provider": [names.provider_name(r.provider) for r in rows],
            "status": [r.status for r in rows],
            "prompt": [r.prompt for r in rows],
            "latency": [duration(r.latency_ms) for r in rows],
            "cost": [money(r.cost_usd, r.cost_kind) for r in rows],
            "rating": [r.rating for r in rows],
            # the judge's figure beside people's stars (on screen with its sort, not scrolled
            # past the measurements): read with the page when its filter or sort used it
            "adherence": _adherence(rows) if result.adherence is None
            else [result.adherence.get(r.id) for r in rows],
            "tags": [", ".join(result.annotations[r.id].tags) if r.id in result.annotations
                     else "" for r in rows],
            **measured,
            "id": [r.id for r in rows],
        }
    )
    event = st.dataframe(
        frame,
        hide_index=True,
        key="h_table",
        on_select="rerun",
        selection_mode="single-row",
        row_height=64,
        column_config={
            "thumbnail": st.column_config.ImageColumn("Image", width="small"),
            "when": st.column_config.DatetimeColumn("When (UTC)", format="YYYY-MM-DD HH:mm"),
            "model": "Model",
            "provider": "Provider",
            "status": "Status",
            "latency": "Time",
            "cost": "Cost",
            "tags": "Tags",
            "rating": st.column_config.NumberColumn("Rating", format="%.1f ★"),
            "prompt": st.column_config.TextColumn("Prompt", width="large"),
            **{metric: _metric_column(metric) for metric in metrics},
            "adherence": ADHERENCE_COLUMN,
        },
    )
    selected = event.selection.rows if event else []
    picked = rows[selected[0]].id if selected else None
    # A table selection persists across reruns: act only when it changes, so it does not pull
    # the view back after the user opened another generation below.
    if picked and picked != st.session_state.get("h_table_picked"):
        _open(picked)
    st.session_state["h_table_picked"] = picked


def _open(generation_id: str) -> None:
    """Opens a generation by id (never by its label): the select box below follows."""
    st.session_state[SELECTED_KEY] = generation_id


def _gallery(wb: Workbench, result: history_service.HistoryPage) -> None:
    with_images = [(r, t) for r in result.rows if (t := result.thumbnails.get(r.id))]
    if not with_images:
        st.info("No images on this page (only failed or pending attempts).")
        return
    columns = st.columns(5)
    for i, (row, thumbnail) in enumerate(with_images):
        with columns[i % 5]:
            st.image(thumbnail, caption=plain(f"{model_name(wb, row.model)} · {row.prompt[:60]}"))
            st.button(
                "Details", key=f"h_open_{row.id}", on_click=_open_in_dialog, args=(row.id,),
                help="Everything logged about it, in a window over the gallery.",
            )


def _open_in_dialog(generation_id: str) -> None:
    """A gallery image's Details: its detail opens in a dialog over the page (the gallery can
    be 50 images long; the detail under it would be off screen), and stays open below too."""
    _open(generation_id)
    st.session_state[DIALOG_KEY] = generation_id


@st.dialog("Generation details", width="large")
def _detail_dialog(generation_id: str) -> None:
    _detail(workbench(), generation_id)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _show_lineage(generation_id: str) -> None:
    """Filters History to one lineage and opens this generation in it (a chain link); the
    filters that could hide a link of the chain are let go."""
    st.session_state[LINEAGE_KEY] = generation_id
    st.session_state["h_finals"] = False
    st.session_state[SELECTED_KEY] = generation_id
    st.session_state["h_page"] = 1


def _lineage(wb: Workbench, generation_id: str) -> None:
    links = handoff.chain(wb, generation_id)
    if len(links) == 1:
        return
    st.markdown("**Lineage** (first draft → refinements)")
    with st.container(horizontal=True, gap="small"):
        for i, link in enumerate(links):
            with st.container(width=120):
                if link.thumb_file:
                    st.image(link.thumb_file, width=110)
                st.caption(plain(f"{'▶ ' if link.current else ''}{link.model} · {link.status}"))
                st.button(
                    "This one" if link.current else "Open",
                    key=f"h_chain_{i}_{link.id}",
                    disabled=link.current,
                    on_click=_show_lineage,
                    args=(link.id,),
                    help=f"Open {link.id}, with History showing this lineage.",
                )
    st.button("Show this lineage", key="h_chain_filter", on_click=_show_lineage,
              args=(generation_id,), help="Filters History to this lineage.")


def _send_again(wb: Workbench, generation_id: str, provider: str) -> None:
    """An attempt cut off while sending: sent again only on purpose, after saying that it may
    then be paid for twice (`generation.resend` refuses any other attempt, with the reason)."""
    st.warning(
        f"This attempt may or may not have reached {names.provider_name(provider)}: sending "
        "it again may be billed twice."
    )
    if st.button("Send again", key=f"h_resend_{generation_id}"):
        try:
            again = generation.resend(wb, generation_id)
        except generation.CannotResend as exc:
            st.error(plain(str(exc)))
            return
        st.success(f"Sent again as {again.id}: {again.status}.")


def _detail(wb: Workbench, generation_id: str) -> None:
    found = history_service.detail(wb, generation_id)
    if found is None:
        st.warning(plain(f"Generation {generation_id} is not in the log."))
        return
    record = found.record
    st.subheader(f"Generation {generation_id}")
    image_col, facts_col = st.columns([3, 2], gap="large")
    with image_col:
        if found.image_file:
            caption = "offline sketch, no model" if record.provider == "offline" else None
            try:
                # in its own format: "auto" re-encodes an opaque PNG as JPEG on every rerun
                st.image(found.image_file, caption=caption,
                         output_format=IMAGE_FORMATS.get(record.mime or "", "auto"))
            except (OSError, ValueError) as exc:  # an empty or corrupt file
                st.error(f"The image file cannot be shown ({type(exc).__name__}).")
        elif found.placeholder:
            st.image(found.placeholder)
            st.error(plain(f"The image cannot be shown: {found.image_problem}."))
        else:
            st.error(plain(history_service.failure_text(record)))
            if record.status == "interrupted" and record.error_kind == "uncertain":
                _send_again(wb, record.id, record.provider)
        _lineage(wb, generation_id)
        _measurements(wb, record)
    with facts_col:
        st.markdown(
            f"**{plain(made_by(wb, record.model, record.provider))}** · {plain(record.status)}",
            help=plain(
                f"model {record.model}, provider {record.provider}, provider's model id "
                f"{record.provider_model_id or '–'}"
            ),
        )
        st.markdown("**Prompt as sent**")
        st.code(record.prompt, language=None, wrap_lines=True)
        if record.prompt_used:  # the provider rewrote it (prompt upsampling) and said so
            st.markdown("**Prompt the provider rewrote it to**")
            st.code(record.prompt_used, language=None, wrap_lines=True)
        facts = {
            "created (UTC)": str(record.created_at),
            "finished (UTC)": str(record.finished_at or "–"),
            "template": record.template_id or "–",
            "aspect ratio": record.aspect_ratio or "model default",
            "size": record.size or "model default",
            "seed asked / returned": (
                f"{'random' if record.seed is None else record.seed} / "
                f"{'not reported' if record.seed_returned is None else record.seed_returned}"
            ),
            "image": f"{record.width}×{record.height}"
            if record.width
            else "–",
            "latency": duration(record.latency_ms),
            "queue": duration(record.queue_ms),
            "cost": f"{money(record.cost_usd)} ({record.cost_kind})",
            "provider request id": record.provider_request_id or "–",
            "run": record.run_id or "–",
            "category": record.category or "–",
            "error": (
                f"{record.error_kind}: {record.error_message}"
                if record.error_kind
                else "–"
            ),
        }
        st.table(
            pd.DataFrame(
                {"": list(facts.keys()), "value": [plain(v) for v in facts.values()]}
            ).set_index("")
        )
        with st.expander("Slots and parameters as sent"):
            st.code(
                json.dumps(
                    {"slots": record.slots, "params": record.params},
                    indent=2,
                    default=str,
                ),
                language="json",
            )
        if image := exports.image_file(wb, record):
            st.download_button(
                "Download image",
                data=image.read,
                file_name=image.name,
                mime=image.mime,
                key="h_dl_image",
                on_click="ignore",
                icon=":material/download:",
                help="The image with its prompt and settings written into the file (A1111 "
                "'parameters' and the workbench record): \"Open from image\" on the Build page "
                "restores them.",
            )
        if st.button(
            "Open in builder",
            key="h_remix",
            help="Loads this prompt, its slots and parameters into the Build page.",
        ):
            open_in_builder(history_service.remix(record))
        if record.status == "succeeded":
            refine_action(wb, generation_id, "h")
    if record.status == "succeeded":
        st.markdown("**Rate it**")
        rating_widgets(wb, generation_id, found.ratings)
        _votes(wb, generation_id)
    _annotation(wb, found)


def _annotation(wb: Workbench, found: history_service.Detail) -> None:
    """Tags and a note (searchable in History, carried in exports); archive or restore; and
    deleting for good, a separate action that asks first."""
    gid = found.record.id
    note = found.annotation
    with st.form(key=f"h_notes_{gid}", border=False):
        tags_col, note_col = st.columns([1, 2])
        tag_text = tags_col.text_input(
            "Tags (comma-separated)", value=", ".join(note.tags), max_chars=400,
            key=f"h_tags_{gid}",
        )
        note_text = note_col.text_area(
            "Note", value=note.note, max_chars=5000, height=68, key=f"h_note_{gid}"
        )
        if st.form_submit_button("Save tags and note"):
            history_service.annotate(wb, gid, tag_text.split(","), note_text)
            st.session_state[DONE_MESSAGE_KEY] = "Saved the tags and note."
            st.rerun()
    archive_col, delete_col = st.columns(2)
    if note.archived:
        archive_col.info(
            f"Archived {note.archived_at:%Y-%m-%d %H:%M} UTC: hidden from History, the boards "
            "and the Arena.", icon=":material/inventory_2:",
        )
        if archive_col.button("Restore", key=f"h_restore_{gid}", icon=":material/unarchive:"):
            history_service.restore(wb, gid)
            st.session_state[DONE_MESSAGE_KEY] = "Restored: shown again everywhere."
            st.rerun()
    elif archive_col.button(
        "Archive", key=f"h_archive_{gid}", icon=":material/archive:",
        help="Hide it from History, the boards and the Arena; the \"Archived\" filter finds "
        "it, and Restore brings it back.",
    ):
        history_service.archive(wb, gid)
        st.session_state[ARCHIVED_MESSAGE_KEY] = gid
        st.rerun()
    with delete_col.popover("Delete for good…", icon=":material/delete_forever:"):
        st.warning(
            "This removes the generation, its ratings, measurements, tags and note, and its "
            "image file (unless another generation shows the same image). Votes and spending "
            "keep what they recorded. It cannot be undone; Archive can."
        )
        sure = st.checkbox("Yes, delete it for good", key=f"h_delete_sure_{gid}")
        if st.button("Delete", key=f"h_delete_{gid}", type="primary", disabled=not sure):
            deletion = history_service.delete_for_good(wb, gid)
            st.session_state.pop(OPEN_KEY, None)
            st.session_state[DELETED_MESSAGE_KEY] = (gid, deletion.problem)
            st.rerun()


def _undo_vote(wb: Workbench, vote_id: int) -> None:
    if rating_service.undo_vote(wb, vote_id):
        st.session_state["h_vote_message"] = "Vote undone: it no longer counts anywhere."


def _votes(wb: Workbench, generation_id: str) -> None:
    """The Arena votes that show this image, each with "Undo" for the user's own."""
    votes = rating_service.votes_for(wb, generation_id)
    if message := st.session_state.pop("h_vote_message", None):
        st.toast(message)
    if not votes:
        return
    st.markdown(f"**Arena votes on this image** ({count(len(votes), 'vote')})")
    criteria = {c.id: c.label for c in load_criteria()}
    for vote in votes:
        mine = vote.left_generation_id == generation_id
        other = vote.right_model if mine else vote.left_model
        side = "left" if mine else "right"
        outcome = {
            "tie": "a tie", "both_bad": "both bad",
            side: "this image won",
        }.get(vote.winner, "the other image won")
        text_col, button_col = st.columns([5, 1], vertical_alignment="center")
        text_col.text(
            f"{vote.created_at:%Y-%m-%d %H:%M} · {criteria.get(vote.criterion, vote.criterion)}"
            f" · against {model_name(wb, other)} · {outcome} · by {vote.rater}"
        )
        if vote.rater == wb.settings.user:
            button_col.button(
                "Undo", key=f"h_undo_vote_{vote.id}", on_click=_undo_vote, args=(wb, vote.id),
                help="The vote stops counting on the Leaderboard and everywhere else.",
            )


def _measurement_lines(view: history_service.MeasurementView) -> None:
    readings = [line.text for line in view.lines if line.kind == "reading"]
    if readings:
        st.markdown("\n".join(f"- {plain(text)}" for text in readings))
    for line in view.lines:
        if line.kind == "error":
            st.error(plain(line.text), icon=":material/broken_image:")
        elif line.kind == "skipped":
            st.warning(plain(line.text))
    if not view.waiting:
        return
    missing = "; ".join(view.waiting)
    if view.busy:
        st.info(
            plain(
                f"Not measured yet: {missing}. Measuring in the background "
                f"({count(view.busy, 'job')} in the queue); this updates by itself."
            ),
            icon=":material/hourglass_top:",
        )
    else:
        st.info(plain(f"Not measured yet: {missing}."))


def _measurements(wb: Workbench, record: history_service.Generation) -> None:
    """What the pixels measured, each in a sentence; while the background worker is still on
    this image, the section looks again every second (and reruns the page once done)."""
    view = history_service.measurements(wb, record)
    if view is None:
        return
    st.markdown("**Measurements**")
    gid = record.id

    @st.fragment(run_every=1.0 if view.pending else None)
    def _section() -> None:
        current = view if not view.pending else history_service.measurements(wb, record)
        if current is None:
            return
        if view.pending and not current.pending:
            st.rerun()  # done: draw it once more without the timer
        _measurement_lines(current)
        if (
            current.waiting
            and not current.busy
            and st.button("Measure now", key=f"h_measure_{gid}", help="Runs in the background.")
        ):
            if history_service.measure_in_background(wb, gid):
                st.rerun()
            st.warning("The measuring queue is full; try again in a moment.")

    _section()


def _export_all(wb: Workbench, f: HistoryFilter, total: int) -> None:
    """Every row the filters match (not only this page), as `workbench export` writes them:
    read from the database in chunks when the button is pressed."""
    rows = count(total, "row")
    csv_col, parquet_col = st.columns(2)
    csv_col.download_button(
        f"Export all {rows} as CSV",
        data=partial(exports.history_csv, wb, f),
        file_name="history.csv",
        mime="text/csv",
        key="h_export_csv",
        on_click="ignore",
        icon=":material/table:",
        help="The filtered History, every page: the columns of `workbench export`, ratings, "
        "tags and note included (text cells made safe for spreadsheets).",
    )
    parquet_col.download_button(
        f"Export all {rows} as Parquet",
        data=partial(exports.history_parquet, wb, f),
        file_name="history.parquet",
        mime="application/vnd.apache.parquet",
        key="h_export_parquet",
        on_click="ignore",
        icon=":material/dataset:",
        help="The same rows as the CSV, with the text as written.",
    )


def _step(target: str) -> None:
    """← / →: open the previous or next generation of the page."""
    st.session_state[SELECTED_KEY] = target


def _open_generation(wb: Workbench, result: history_service.HistoryPage) -> str:
    """The generation whose detail shows, kept in the URL as `open`. A request from elsewhere
    (table, gallery, a grid cell on another page) wins once; then a URL that changed outside
    this session (a shared link, the browser's back and forward); else what stays open while it
    is on the page. One asked for that is not on this page is offered too."""
    ids = [r.id for r in result.rows]
    labels = {r.id: history_service.label(r) for r in result.rows}
    in_url = st.query_params.get(OPEN_PARAM)
    from_outside = in_url if in_url != st.session_state.get(OPEN_WRITTEN_KEY) else None
    asked = st.session_state.pop(SELECTED_KEY, None) or from_outside
    wanted = asked or st.session_state.get(OPEN_KEY)
    if asked and asked not in ids and (row := history_service.find(wb, asked)):
        ids.append(row.id)
        labels[row.id] = history_service.label(row) + " (not on this page)"
    st.session_state[OPEN_KEY] = wanted if wanted in ids else ids[0]
    pick_col, back_col, next_col = st.columns([8, 1, 1], vertical_alignment="bottom")
    chosen = pick_col.selectbox(
        "Open generation", ids, position(OPEN_KEY, ids), format_func=labels.__getitem__,
        key=OPEN_KEY,
    )
    at = ids.index(chosen)
    back_col.button(
        "←", key="h_previous", shortcut="Left", disabled=at == 0, on_click=_step,
        args=(ids[at - 1] if at else chosen,), help="The previous generation (key: ←).",
        width="stretch",
    )
    next_col.button(
        "→", key="h_next", shortcut="Right", disabled=at + 1 >= len(ids), on_click=_step,
        args=(ids[at + 1] if at + 1 < len(ids) else chosen,),
        help="The next generation (key: →).", width="stretch",
    )
    st.query_params[OPEN_PARAM] = chosen
    st.session_state[OPEN_WRITTEN_KEY] = chosen
    return str(chosen)


@page
def render() -> None:
    wb = workbench()
    st.title("History")
    if (waiting := recovery.waiting(wb)) and st.button(
        f"Fetch {count(waiting, 'interrupted job')} from their providers",
        key="h_recover",
        help="Jobs a provider accepted before the workbench stopped: their images are fetched, "
        "nothing is sent again.",
    ):
        st.info(recovery.recover_jobs_sync(wb).summary())
    if gid := st.session_state.pop(ARCHIVED_MESSAGE_KEY, None):
        st.success(
            f"Archived {gid}. Choose \"only archived\" under Archived to find it and restore "
            "it.", icon=":material/archive:",
        )
    if done := st.session_state.pop(DONE_MESSAGE_KEY, None):
        st.toast(done)
    if deleted := st.session_state.pop(DELETED_MESSAGE_KEY, None):
        gid, problem = deleted
        st.success(f"Deleted {gid} for good.", icon=":material/delete_forever:")
        if problem:
            st.warning(plain(problem), icon=":material/warning:")
    f = _filters(wb)
    if f is None:
        return
    url_state.restore("history_page", PAGE_FIELDS)
    page_no = int(st.session_state.get("h_page", 1))
    result = history_service.load_page(wb, f, page_no)
    top = st.columns([2, 1])
    verb = "matches" if result.total == 1 else "match"
    top[0].caption(
        f"{count(result.total, 'generation')} {verb} · page {result.page} of {result.pages}"
    )
    st.session_state["h_page"] = result.page
    top[1].number_input(
        "Page", min_value=1, max_value=result.pages, value=result.page, step=1, key="h_page",
    )
    url_state.publish("history_page", PAGE_FIELDS)
    if not result.rows:
        if f == HistoryFilter():
            st.info("Nothing logged yet. Generate something on the Build page.")
        else:
            st.info("Nothing matches these filters. Loosen one of them above.")
        return
    # Only the tab shown is drawn: the gallery's 50 images and buttons cost a rerun of the
    # table about as much as the table itself.
    table_tab, gallery_tab = st.tabs(["Table", "Gallery"], key=VIEW_KEY, on_change="rerun")
    if table_tab.open:
        with table_tab:
            _table(wb, result, history_service.table_metrics(f))
    if gallery_tab.open:
        with gallery_tab:
            _gallery(wb, result)
    ids = [r.id for r in result.rows]
    st.download_button(
        f"Download this page ({count(len(ids), 'generation')}) as ZIP",
        data=partial(exports.images_zip, wb, ids),
        file_name=f"generations-page-{result.page}.zip",
        mime="application/zip",
        key="h_dl_zip",
        on_click="ignore",
        icon=":material/folder_zip:",
        help="Images with their recipe inside, with manifest.csv and manifest.json of "
        "everything logged (the columns of `workbench export`).",
    )
    _export_all(wb, f, result.total)
    report_download(wb, ids=ids, key="h", title="Image report: a History selection")
    chosen = _open_generation(wb, result)
    if st.session_state.pop(DIALOG_KEY, None) == chosen:
        # drawn once per rerun (its widgets' keys): in the dialog now, here on the next rerun
        _detail_dialog(chosen)
        st.button("Show the details here", key="h_detail_here", icon=":material/expand_more:")
        return
    _detail(wb, chosen)


# -- The judge's Adherence figure (services/evidence/judge): a column of its own ---------------
ADHERENCE_COLUMN = st.column_config.NumberColumn(
    "Adherence", format="percent", help=f"{ADHERENCE_HELP} Empty: not judged.",
)


def _adherence(rows: list[Any]) -> list[float | None]:
    """The judge's Adherence score of each row (None where its image was never judged)."""
    from workbench.services.evidence.judge import insights

    try:
        found = insights.adherence_by_generation(workbench(), [r.id for r in rows])
    except WorkbenchError:  # an unusable judge setting must not hide the History page
        return [None] * len(rows)
    return [found[r.id].score if r.id in found else None for r in rows]
