"""What a judge call may cost before it is sent, and what it did cost after.

After: `Prices.cost` of the billed tokens in `usageMetadata` (input, output, thinking).
Before, two figures:

- `most`: an upper bound, reserved against the budget and the daily caps until the call ends
  and its reservation becomes what was billed. Input: the text's UTF-8 bytes (a token is never
  shorter than a byte) plus, per image, the larger of Gemini 3's top image allowance
  (1,120 tokens at "high" media resolution) and Gemini 2's 258 tokens per 768 px tile
  (https://ai.google.dev/gemini-api/docs/media-resolution and /image-understanding); output:
  the call's `maxOutputTokens` plus a thinking allowance where thinking cannot be turned off.
- `typical`: what the call usually costs (about four bytes per text token, the same image
  allowance, a short answer per question), shown as the estimate before a batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from workbench.services.evidence.judge.settings import Prices, thinking_config

IMAGE_TOKENS_GEMINI3 = 1120
TILE_TOKENS = 258
TILE_PX = 768
THINKING_ALLOWANCE = 1024  # Gemini 3 at thinkingLevel "low"; 2.5 Flash with a budget of 0: none
QUESTION_MAX_OUTPUT = 2048
PAIR_MAX_OUTPUT = 512
TYPICAL_QUESTIONS = 8
TYPICAL_TOKENS_PER_ANSWER = 20
TYPICAL_THINKING = 150


def answers_max_output(questions: int) -> int:
    return min(4096, 128 + 48 * max(questions, 1))


def image_tokens(width: int | None, height: int | None) -> int:
    w, h = width or 3072, height or 3072
    tiles = math.ceil(w / TILE_PX) * math.ceil(h / TILE_PX)
    return max(IMAGE_TOKENS_GEMINI3, tiles * TILE_TOKENS)


@dataclass(frozen=True)
class Bound:
    typical_usd: float
    most_usd: float


def bound(
    prices: Prices, model_id: str, *, text_bytes: int, images: list[tuple[int | None, int | None]],
    max_output: int, typical_output: int,
) -> Bound:
    pictures = sum(image_tokens(w, h) for w, h in images)
    off = (thinking_config(model_id) or {}).get("thinkingBudget") == 0
    thinking = 0 if off else THINKING_ALLOWANCE
    most = prices.cost(text_bytes + pictures, max_output, thinking)
    typical_thinking = TYPICAL_THINKING if thinking else 0
    typical = prices.cost(text_bytes // 4 + pictures, typical_output, typical_thinking)
    return Bound(typical, most)
