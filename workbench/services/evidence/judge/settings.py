"""Which Gemini model judges, what it costs, and whether the judge can run here.

- `WORKBENCH_JUDGE_MODEL` (`config.Settings.judge_model`: the environment, else
  `.streamlit/secrets.toml`) picks the model; the
  default is a current stable Gemini Flash from Google's model list
  (https://ai.google.dev/gemini-api/docs/models, "All Gemini 3 models": `gemini-3.8-flash`).
  Google retires ids over time (https://ai.google.dev/gemini-api/docs/deprecations), so it is a
  setting; a retired id answers 404 NOT_FOUND and the judge says to change this setting.
- Prices are per million tokens, thinking billed as output (Google's pricing page,
  https://ai.google.dev/gemini-api/docs/pricing, as transcribed on 2026-10-07 in
  github.com/api-evangelist/deepmind plans/deepmind-plans-pricing.yml; Gemini 2.5 Flash at its
  list price of $0.30 / $2.50). A price can change on a date (3.8 Flash doubles on 2027-01-01), so
  each model holds dated steps. A model not listed needs `WORKBENCH_JUDGE_PRICES` =
  "input,output" dollars per million tokens: without a price the judge cannot reserve what a
  call may cost, and refuses.
- The judge needs a Gemini key (`GEMINI_API_KEY` or `GOOGLE_API_KEY`); without one it is
  unavailable and says how to enable it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from workbench import config
from workbench.errors import ConfigError, WorkbenchError
from workbench.providers.gemini_judge import MODEL_SETTING
from workbench.providers.http import key_help

DEFAULT_MODEL = "gemini-3.8-flash"
PRICE_SETTING = "WORKBENCH_JUDGE_PRICES"
PRICE_SOURCE = "https://ai.google.dev/gemini-api/docs/pricing"


@dataclass(frozen=True)
class Prices:
    input_per_million: float
    output_per_million: float  # answer text and thinking

    def cost(self, input_tokens: int, output_tokens: int, thinking_tokens: int) -> float:
        total = (
            input_tokens * self.input_per_million
            + (output_tokens + thinking_tokens) * self.output_per_million
        )
        return round(total / 1_000_000, 8)


# model id -> [(first day the price applies, prices)], oldest first.
PRICE_STEPS: dict[str, tuple[tuple[date, Prices], ...]] = {
    "gemini-3.8-flash": (
        (date(2026, 1, 1), Prices(0.75, 3.75)),
        (date(2027, 1, 1), Prices(1.50, 7.50)),
    ),
    "gemini-3.5-flash": ((date(2026, 1, 1), Prices(1.50, 9.00)),),
    "gemini-3.5-flash-lite": ((date(2026, 1, 1), Prices(0.30, 2.50)),),
    "gemini-2.5-flash": ((date(2025, 1, 1), Prices(0.30, 2.50)),),
}


def thinking_config(model_id: str) -> dict[str, Any] | None:
    """Keep thinking small: 2.5 Flash turns it off with a budget of 0; Gemini 3 models take a
    level instead ("low" is accepted by every Gemini 3 model; ai.google.dev thinking guide)."""
    if model_id.startswith("gemini-2.5-flash"):
        return {"thinkingBudget": 0}
    if model_id.startswith("gemini-3"):
        return {"thinkingLevel": "low"}
    return None


class JudgeUnavailable(WorkbenchError):
    """The judge cannot run here; the message says how to enable it."""


def judge_model(settings: config.Settings) -> str:
    model = settings.judge_model or DEFAULT_MODEL
    if not all(c.isalnum() or c in "-._" for c in model) or len(model) > 80:
        raise ConfigError(f"{MODEL_SETTING} must be a Gemini model id such as {DEFAULT_MODEL}.")
    return model


def prices(settings: config.Settings, model_id: str, day: date | None = None) -> Prices:
    raw = settings.judge_prices
    if raw:
        try:
            inp, out = (float(x) for x in raw.split(","))
        except ValueError:
            raise ConfigError(
                f"{PRICE_SETTING} must be two dollar amounts per million tokens, input and "
                "output, such as 0.75,3.75."
            ) from None
        if inp < 0 or out < 0:
            raise ConfigError(f"{PRICE_SETTING} cannot be negative.")
        return Prices(inp, out)
    steps = PRICE_STEPS.get(model_id)
    if not steps:
        known = ", ".join(PRICE_STEPS)
        raise JudgeUnavailable(
            f"No price is known for the judge model '{model_id}' (known: {known}). Set "
            f"{PRICE_SETTING} to its input and output prices per million tokens "
            f"({PRICE_SOURCE}), or pick a known model with {MODEL_SETTING}."
        )
    today = day or date.today()
    current = steps[0][1]
    for start, step in steps:
        if start <= today:
            current = step
    return current


def unavailable_reason(settings: config.Settings) -> str | None:
    """Why the judge cannot run with these settings, with how to enable it; None when it can."""
    if not settings.has_key("gemini"):
        return (
            "The adherence judge is unavailable: it asks a Gemini model, and no Gemini key is "
            f"set. To enable it, {key_help('gemini')}."
        )
    return None
