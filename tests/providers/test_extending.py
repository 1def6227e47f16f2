"""A provider is one adapter module plus data: a throwaway provider, written as exactly the files
docs/extending.md says a provider touches (an adapter module and the catalog), works end to end
(settings, generation, log, Status page, runner defaults, key scope) with nothing else changed;
the real catalog names only providers it describes, each with an importable adapter."""

from __future__ import annotations

import re
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from harness.fakes import FakeServer, Recorded, Reply
from workbench.config import KEY_VARIABLES, load_settings
from workbench.domain import catalog as catalog_module
from workbench.domain.catalog import (
    CATALOG_FILE,
    CatalogError,
    load_catalog,
    parse_catalog,
    provider_specs,
)
from workbench.providers import registry
from workbench.services.runs import generation
from workbench.services.runs.runner import RunSettings
from workbench.services.team import status
from workbench.services.workbench import open_workbench

EXTENDING = Path(__file__).resolve().parents[2] / "docs" / "extending.md"

ADAPTER = '''
"""A throwaway provider: POST {base}/make answers {"id", "png_b64"}."""
import base64

from workbench.providers.base import ImageRequest, ImageResult
from workbench.providers.http import HostedProvider, Job, mark_submitted, refused


class ThrowawayProvider(HostedProvider):
    name = "throwaway"

    def wire_params(self, request: ImageRequest) -> dict:
        return {"ratio": request.aspect_ratio}

    async def generate(self, request: ImageRequest) -> ImageResult:
        job = Job.for_request(request)
        return await self._api.run(self._go(request, job), job)

    async def _go(self, request: ImageRequest, job: Job) -> ImageResult:
        response = await self._api.submit(
            f"{self._base}/make", json_body={"prompt": request.prompt},
            headers={"Authorization": f"Bearer {self._key}"}, retry_submit=refused(429),
        )
        body = self._api.json(response, "the answer")
        mark_submitted(request, body["id"])
        return ImageResult(data=base64.b64decode(body["png_b64"]), provider_request_id=body["id"])
'''

PROVIDER = {
    "name": "throwaway", "label": "Throwaway Images",
    "adapter": "throwaway_adapter:ThrowawayProvider",
    "key_variables": ["THROWAWAY_KEY"], "base_url_variable": "THROWAWAY_BASE_URL",
    "default_base_url": "https://api.throwaway.invalid", "api_hosts": ["api.throwaway.invalid"],
    "default_concurrency": 3, "first_party": ["https://throwaway.invalid/"], "position": 60,
}
MODEL = {
    "id": "tiny-model", "name": "Tiny Model", "family": "flux", "vendor": "Throwaway",
    "default_template": "flux-photographic", "aspect_ratios": ["1:1"],
    "default_aspect_ratio": "1:1", "sizes": ["1MP"], "default_size": "1MP",
    "offers": [{"provider": "throwaway", "model_id": "tiny-v1",
                "price": {"kind": "flat", "usd": 0.01}, "price_source": "throwaway price page",
                "price_url": "https://throwaway.invalid/pricing", "price_confirmed": True}],
}


def _toml(data: dict) -> str:
    """The catalog written back as TOML (arrays of tables, inline tables for the rest)."""

    def value(v: object) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, list | tuple):
            return "[" + ", ".join(value(x) for x in v) + "]"
        assert isinstance(v, dict)
        return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"

    lines = []
    for table in ("providers", "models"):
        for entry in data[table]:
            lines.append(f"[[{table}]]")
            offers = entry.get("offers", []) if table == "models" else []
            lines += [f"{k} = {value(v)}" for k, v in entry.items() if k != "offers"]
            for offer in offers:
                lines.append(f"[[{table}.offers]]")
                lines += [f"{k} = {value(v)}" for k, v in offer.items()]
    return "\n".join(lines) + "\n"


def _files_a_provider_touches() -> int:
    match = re.search(r"## A new provider: .*\((\d+) files?\)", EXTENDING.read_text())
    assert match, "docs/extending.md must say how many files a provider touches"
    return int(match.group(1))


class FakeThrowaway(FakeServer):
    def route(self, method: str, path: str):  # type: ignore[no-untyped-def]
        if method == "POST" and path == "/make":
            return "submit", self._make
        raise LookupError(path)

    def authorised(self, request: Recorded) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.key}"

    def _make(self, request: Recorded) -> Reply:
        import base64

        self.paid_submits += 1
        return Reply(200, {"id": self.next_id(), "png_b64": base64.b64encode(self.image).decode()})


@pytest.fixture
def throwaway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The throwaway provider as the files docs/extending.md lists: returns them."""
    folder = tmp_path / "adapters"
    folder.mkdir()
    adapter = folder / "throwaway_adapter.py"
    adapter.write_text(textwrap.dedent(ADAPTER))
    with CATALOG_FILE.open("rb") as fh:
        data = tomllib.load(fh)
    data["providers"].append(PROVIDER)
    data["models"].append(MODEL)
    catalog_file = tmp_path / "catalog.toml"
    catalog_file.write_text(_toml(data))
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setattr(catalog_module, "CATALOG_FILE", catalog_file)
    yield [adapter, catalog_file]
    sys.modules.pop("throwaway_adapter", None)


def test_a_new_provider_is_the_files_the_docs_list(throwaway, tmp_path: Path) -> None:
    assert len(throwaway) == _files_a_provider_touches() == 2
    assert "throwaway_adapter" not in sys.modules  # nothing imports an adapter before it is built
    with FakeThrowaway("tw-key-123") as fake:
        env = {"WORKBENCH_DATA_DIR": str(tmp_path / "data"), "THROWAWAY_KEY": "tw-key-123",
               "THROWAWAY_BASE_URL": fake.url}
        wb = open_workbench(load_settings(env=env, secrets_file=tmp_path / "none.toml"))
        try:
            assert "tiny-model" in wb.catalog.ids
            outcome = generation.generate_sync(wb, generation.parse_request(
                {"model": "tiny-model", "provider": "throwaway", "prompt": "a red kite"}))
            assert outcome.status == "succeeded", outcome.error
            assert (outcome.cost_usd, outcome.cost_kind) == (0.01, "estimated")  # not reported
            row = wb.log.get(outcome.id)
            assert row.provider_request_id == "job-0001-7f3a"
            keys = {k.provider: k for k in status.provider_keys(wb)}
            assert keys["throwaway"].present and keys["throwaway"].label == "Throwaway Images"
            assert RunSettings().limit("throwaway") == 3
        finally:
            wb.close()
        assert fake.paid_submits == 1
    assert KEY_VARIABLES["throwaway"] == ("THROWAWAY_KEY",)


def test_the_throwaway_is_gone_with_its_files(throwaway, monkeypatch) -> None:
    assert "throwaway" in provider_specs()
    monkeypatch.undo()  # the real catalog again, with no forget() to call
    assert "throwaway" not in provider_specs() and "throwaway" not in KEY_VARIABLES


def test_every_provider_of_the_catalog_has_an_importable_adapter() -> None:
    catalog = load_catalog()
    assert {p.name for p in catalog.providers} == set(provider_specs())
    for spec in catalog.providers:
        assert isinstance(registry.adapter_class(spec), type)
    served = {o.provider for m in catalog.models for o in m.offers}
    assert served <= set(provider_specs())


def test_an_offer_of_an_unknown_provider_is_refused() -> None:
    with CATALOG_FILE.open("rb") as fh:
        data = tomllib.load(fh)
    data["models"][0]["offers"][0]["provider"] = "nobody"
    with pytest.raises(ValueError, match="no provider 'nobody'"):
        parse_catalog(data)


def test_a_confirmed_price_citing_another_site_is_refused() -> None:
    with CATALOG_FILE.open("rb") as fh:
        data = tomllib.load(fh)
    offer = data["models"][0]["offers"][0]
    offer.update(price_confirmed=True, price_url="https://lumenfall.ai/models/x")
    with pytest.raises(ValueError, match=r"must cite .*lumenfall"):
        parse_catalog(data)


def test_an_adapter_that_cannot_be_loaded_is_a_config_error(throwaway) -> None:
    spec = provider_specs()["throwaway"].model_copy(update={"adapter": "nowhere_at_all:X"})
    with pytest.raises(Exception) as caught:
        registry.adapter_class(spec)
    assert getattr(caught.value, "kind", None) == "config"
    assert not isinstance(caught.value, CatalogError)
