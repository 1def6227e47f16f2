"""Provider-side limits, each at the edge where it could slip (the others: tests/test_limits.py):

- a retry's wait is weighed against the time LEFT of the overall deadline, not the whole of it;
- Replicate's explicit sizes (`aspect_ratio: "custom"`) are multiples of 32 within its side
  limits for every model, ratio and size it is offered at, 1 MP included (shared/providers.md,
  corrections: FLUX.2 pro/max cap a side at 2048 px, `flux-2-dev` rounds to multiples of 32 in
  256-1440);
- an exported image carries the seed the provider returned when none was asked.
"""

from __future__ import annotations

import dataclasses
import re

import pytest

from workbench.domain.catalog import load_catalog, ratios_for, sizes_for
from workbench.imaging.provenance import parse_parameters, read_metadata
from workbench.providers.replicate import DEV_SIDE
from workbench.services.delivery.provenance import image_with_provenance
from workbench.services.runs import generation


def test_a_retry_wait_that_fits_the_deadline_but_not_the_time_left_is_not_waited(
    make_harness,
) -> None:
    # The 429 asks for 2 s and arrives after 2.5 s of a 4 s deadline: 2 < 4 (the whole
    # deadline) but 2 > ~1.5 (what is left), so waiting would only time out.
    h = make_harness("gemini", deadline_s=4.0, retry_after_max_s=60, read_s=5.0,
                     sync_read_s=5.0)
    h.fake.fault("submit", dataclasses.replace(h.fake.documented_429(2.0), delay_s=2.5))
    _, row = h.generate()
    assert (row.status, row.error_kind) == ("failed", "rate_limited")
    assert "would pass the overall deadline" in row.error_message
    assert h.sleeps.waits == [] and len(h.fake.on("submit")) == 1


def test_a_retry_wait_within_the_time_left_is_waited(make_harness) -> None:
    h = make_harness("gemini", deadline_s=4.0, retry_after_max_s=60)
    h.fake.fault("submit", dataclasses.replace(h.fake.documented_429(2.0), delay_s=0.5))
    outcome, _ = h.generate()
    assert outcome.status == "succeeded", outcome.error
    assert h.sleeps.waits == [2.0]


def _replicate_cases() -> list[tuple[str, str, str]]:
    catalog = load_catalog()
    return [
        (model.id, ratio, size)
        for model in catalog.models if "replicate" in model.providers
        for ratio in ratios_for(model, "replicate")
        for size in sizes_for(model, "replicate")
    ]


def test_replicate_explicit_sizes_are_multiples_of_32_at_every_ratio_and_size(
    make_harness,
) -> None:
    h = make_harness("replicate")
    provider = h.wb.open_provider("replicate")
    custom: list[str] = []
    for model_id, ratio, size in _replicate_cases():
        request = generation.parse_request({"model": model_id, "provider": "replicate",
                                            "prompt": "a kite", "aspect_ratio": ratio,
                                            "size": size})
        try:
            planned = generation.plan(h.wb, request)
            params = provider.wire_params(planned.image_request)
        except Exception as exc:  # a size Replicate cannot make is refused before sending
            assert "Replicate" in str(exc) or "replicate" in str(exc), exc
            continue
        if params.get("aspect_ratio") != "custom":
            continue
        where = f"{model_id} {ratio} {size}: {params['width']}x{params['height']}"
        custom.append(where)
        width, height = params["width"], params["height"]
        assert width % 32 == 0 and height % 32 == 0, where
        high = DEV_SIDE[1] if model_id == "flux-2-dev" else 2048
        assert 256 <= width <= high and 256 <= height <= high, where
        w, h_ = (int(x) for x in ratio.split(":"))
        assert width / height == pytest.approx(w / h_, rel=0.06), where
    assert any(" 1MP:" in c for c in custom), custom  # 1 MP at a ratio only sizes can make
    assert any(c.startswith("flux-2-dev ") for c in custom), custom


def test_an_exported_image_carries_the_seed_the_provider_returned(make_harness) -> None:
    h = make_harness("bfl")
    outcome, row = h.generate("flux-2-pro")  # no seed asked
    assert outcome.status == "succeeded", outcome.error
    assert row.seed is None and row.seed_returned == h.fake.seed
    exported = image_with_provenance(h.wb, row.id)
    meta = read_metadata(exported.data)
    assert meta.workbench is not None and meta.workbench["seed"] == h.fake.seed
    assert meta.parameters is not None
    assert parse_parameters(meta.parameters).seed == h.fake.seed
    assert re.search(rf"Seed: {h.fake.seed}\b", meta.parameters)
