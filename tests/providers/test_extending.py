"""A provider is one module plus data: a throwaway adapter written to a temporary folder, with
one catalog entry, works end to end (settings, generation, log, Status page, runner defaults)
without any other file changing; and the real catalog names only discovered providers."""

from __future__ import annotations

import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

import workbench.providers as providers_package
from tests.providers.fakes import FakeServer, Recorded, Reply
from workbench.config import load_settings
from workbench.domain.catalog import CATALOG_FILE, load_catalog, parse_catalog
from workbench.providers import registry
from workbench.services.runs import generation
from workbench.services.runs.runner import RunSettings
from workbench.services.team import status
from workbench.services.workbench import open_workbench

MODULE = '''
"""A throwaway provider: POST {base}/make answers {"id", "png_b64"}."""
import base64

from workbench.providers.base import ImageRequest, ImageResult, ProviderDescriptor
from workbench.providers.http import HostedProvider, Job, mark_submitted, refused


class ThrowawayProvider(HostedProvider):
    name = "throwaway"

    def wire_params(self, request: ImageRequest) -> dict:
        return {"ratio": request.aspect_ratio}

    async def generate(self, request: ImageRequest) -> ImageResult:
        job = Job(model_name=request.model.name)
        return await self._api.run(self._go(request, job), job)

    async def _go(self, request: ImageRequest, job: Job) -> ImageResult:
        response = await self._api.submit(
            f"{self._base}/make", json_body={"prompt": request.prompt},
            headers={"Authorization": f"Bearer {self._key}"}, retry_submit=refused(429),
        )
        body = self._api.json(response, "the answer")
        mark_submitted(request, body["id"])
        return ImageResult(data=base64.b64decode(body["png_b64"]), provider_request_id=body["id"])


DESCRIPTOR = ProviderDescriptor(
    name="throwaway", label="Throwaway Images", adapter=ThrowawayProvider,
    key_variables=("THROWAWAY_KEY",), base_url_variable="THROWAWAY_BASE_URL",
    default_base_url="https://throwaway.invalid", default_concurrency=3,
    first_party=("https://throwaway.invalid/",),
)
'''


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
def throwaway(tmp_path: Path):  # type: ignore[no-untyped-def]
    folder = tmp_path / "adapters"
    folder.mkdir()
    (folder / "throwaway.py").write_text(textwrap.dedent(MODULE))
    providers_package.__path__.append(str(folder))
    try:
        registry.discover()
        yield
    finally:
        providers_package.__path__.remove(str(folder))
        registry.forget("throwaway")
        sys.modules.pop("workbench.providers.throwaway", None)


def test_a_new_provider_is_one_module_plus_a_catalog_entry(throwaway, tmp_path: Path) -> None:
    with CATALOG_FILE.open("rb") as fh:
        data = tomllib.load(fh)
    data["models"].append({
        "id": "tiny-model", "name": "Tiny Model", "family": "flux", "vendor": "Throwaway",
        "default_template": "flux-photographic", "aspect_ratios": ["1:1"],
        "default_aspect_ratio": "1:1", "sizes": ["1MP"], "default_size": "1MP",
        "offers": [{"provider": "throwaway", "model_id": "tiny-v1",
                    "price": {"kind": "flat", "usd": 0.01},
                    "price_source": "throwaway price page",
                    "price_url": "https://throwaway.invalid/pricing", "price_confirmed": True}],
    })
    catalog = parse_catalog(data)
    assert registry.check_catalog(catalog) == []
    with FakeThrowaway("tw-key-123") as fake:
        env = {"WORKBENCH_DATA_DIR": str(tmp_path / "data"), "THROWAWAY_KEY": "tw-key-123",
               "THROWAWAY_BASE_URL": fake.url}
        wb = open_workbench(load_settings(env=env, secrets_file=tmp_path / "none.toml"))
        wb.catalog = catalog
        try:
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


def test_the_catalog_names_only_discovered_providers_and_first_party_prices() -> None:
    assert registry.check_catalog(load_catalog()) == []


def test_a_confirmed_price_citing_another_site_is_refused() -> None:
    with CATALOG_FILE.open("rb") as fh:
        data = tomllib.load(fh)
    offer = data["models"][0]["offers"][0]
    offer.update(price_confirmed=True, price_url="https://lumenfall.ai/models/x")
    problems = registry.check_catalog(parse_catalog(data))
    assert any("must cite" in p and "lumenfall" in p for p in problems)
