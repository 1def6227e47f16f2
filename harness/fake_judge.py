"""A loopback fake of Gemini's `generateContent` as the judge uses it: JSON output bound to a
schema, with images sent inline.

It checks the request the way the documentation describes it and refuses anything else with
Google's 400 INVALID_ARGUMENT body (ai.google.dev "troubleshooting" error table):

- `POST /v1beta/models/{model}:generateContent`, key in `x-goog-api-key`; an unknown model id
  is 404 NOT_FOUND ("models/X is not found for API version v1beta"), as for a retired id;
- `contents[0].parts`: the inline image parts (`inlineData` {mimeType, data}) then one text
  part (ai.google.dev image-understanding: inline data for requests under 20 MB);
- `generationConfig.responseMimeType = "application/json"` with a `responseSchema` and never a
  `responseJsonSchema` too (ai.google.dev structured-output: one or the other).

It answers with the documented response shape: the JSON as the text of
`candidates[0].content.parts[0]`, `finishReason`, and `usageMetadata` with `promptTokenCount`,
`candidatesTokenCount`, `thoughtsTokenCount` and `totalTokenCount` (python-genai types.py,
GenerateContentResponseUsageMetadata). `safety_answer` is a candidate withheld with
`finishReason: SAFETY` (no content; the prompt still counted), `malformed_answer` a text part
that is not valid JSON, and `FakeGemini.documented_429` the rate limit with its RetryInfo.

The fake REALLY looks: questions come from its own reading of the prompt (a small grammar of
counts, colours, sides and quoted text), and each answer comes from the pixels of the image that
was sent (`harness.judge_scenes.look`), matched to its question by the question's id. Answers are
returned in reverse id order, so a client that pairs them by position gets them wrong.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from typing import Any

from harness.fakes import FakeGemini, FakeServer, Recorded, Reply
from harness.judge_scenes import look

NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4}
_CLAUSE = re.compile(
    r"\b(a|an|one|two|three|four)\s+(red|blue|green|yellow)\s+"
    r"(circles?|discs?|balls?|dots?)(?:\s+on\s+the\s+(left|right))?",
    re.I,
)
_TEXT = re.compile(r"text\s+\"([^\"]+)\"", re.I)
_PROMPT = re.compile(r"<<<\n(.*?)\n>>>", re.S)
_QUESTION_LINE = re.compile(r"^(\d+)\.\s+(.*)$", re.M)


def questions_for(prompt: str) -> list[dict[str, Any]]:
    """The fake's question set for a prompt (its own reading, DSG style)."""
    out: list[dict[str, Any]] = []

    def add(text: str, category: str, parents: list[int]) -> int:
        out.append({"id": len(out) + 1, "question": text, "category": category,
                    "parents": parents})
        return len(out)

    for number, colour, shape, side in _CLAUSE.findall(prompt):
        n = NUMBERS[number.lower()]
        noun = shape.rstrip("s").lower()
        entity = add(f"Is there a {colour.lower()} {noun}?", "entity", [])
        if n > 1:
            add(f"Are there exactly {n} {colour.lower()} {noun}s?", "count", [entity])
        if side:
            add(f"Is the {colour.lower()} {noun} on the {side.lower()} side?", "spatial",
                [entity])
    for text in _TEXT.findall(prompt):
        add(f'Does the image show the text "{text}"?', "text", [])
    if "white background" in prompt.lower():
        add("Is the background white?", "style", [])
    return out


def answer_from_pixels(question: str, image: bytes) -> tuple[str, str]:
    seen = look(image)
    if m := re.match(r"Is there an? (\w+) ", question):
        n = seen.count(m.group(1))
        return ("yes" if n else "no"), f"{n} {m.group(1)} shape(s) seen"
    if m := re.match(r"Are there exactly (\d+) (\w+) ", question):
        n = seen.count(m.group(2))
        return ("yes" if n == int(m.group(1)) else "no"), f"{n} seen"
    if m := re.match(r"Is the (\w+) \w+ on the (left|right) side", question):
        side = seen.side(m.group(1))
        return ("yes" if side == m.group(2) else "no"), f"it is on the {side or 'both/none'}"
    if m := re.match(r'Does the image show the text "(.*)"\?', question):
        shown = seen.shows_text(m.group(1))
        return ("yes" if shown else "no"), "the text matches" if shown else "different text"
    if question.startswith("Is the background white"):
        with_white = seen.background_white
        return ("yes" if with_white else "no"), "corners are white" if with_white else "not white"
    return "no", "cannot tell from the image"


class FakeGeminiJudge(FakeServer):
    auth_header = "x-goog-api-key"

    def __init__(self, key: str = "test-key-1234") -> None:
        super().__init__(key)
        self.known_models: set[str] = {"gemini-3.8-flash", "gemini-2.5-flash"}
        self.thought_tokens = 24
        self.problems: list[str] = []  # request checks that failed (each also got a 400)
        self.images_seen: list[bytes] = []

    # -- routing ---------------------------------------------------------------------------
    def route(self, method: str, path: str) -> tuple[str, Callable[[Recorded], Reply]]:
        if method == "POST" and path.startswith("/v1beta/models/") and path.endswith(
            ":generateContent"
        ):
            return "generate", self._generate
        raise LookupError(path)

    def authorised(self, request: Recorded) -> bool:
        return request.headers.get("x-goog-api-key") == self.key

    def unauthorised(self) -> Reply:
        return FakeGemini().unauthorised()

    # -- documented answers ----------------------------------------------------------------
    @staticmethod
    def invalid(message: str) -> Reply:
        return Reply(400, {"error": {"code": 400, "message": message,
                                     "status": "INVALID_ARGUMENT"}})

    def json_answer(self, payload: Any, prompt_tokens: int, *, finish: str = "STOP",
                    text: str | None = None) -> dict[str, Any]:
        body = text if text is not None else json.dumps(payload)
        output = max(1, len(body) // 4)
        return {
            "candidates": [{
                "content": {"role": "model", "parts": [{"text": body}]},
                "finishReason": finish, "index": 0,
            }],
            "usageMetadata": {
                "promptTokenCount": prompt_tokens, "candidatesTokenCount": output,
                "thoughtsTokenCount": self.thought_tokens,
                "totalTokenCount": prompt_tokens + output + self.thought_tokens,
            },
            "modelVersion": "fake", "responseId": self.next_id(),
        }

    @staticmethod
    def safety_answer(prompt_tokens: int = 300) -> dict[str, Any]:
        """A candidate withheld by the safety filters: no content, finishReason SAFETY, its
        safetyRatings; the prompt's tokens are still counted (python-genai Candidate)."""
        return {
            "candidates": [{
                "finishReason": "SAFETY", "index": 0,
                "safetyRatings": [{"category": "HARM_CATEGORY_DANGEROUS_CONTENT",
                                   "probability": "HIGH", "blocked": True}],
            }],
            "usageMetadata": {"promptTokenCount": prompt_tokens,
                              "totalTokenCount": prompt_tokens},
        }

    def malformed_answer(self, prompt_tokens: int = 300) -> dict[str, Any]:
        """The text part holds JSON cut off mid-way."""
        return self.json_answer(None, prompt_tokens, text='{"answers": [{"id": 1, "answer": "y')

    # -- the call ---------------------------------------------------------------------------
    def _generate(self, request: Recorded) -> Reply:
        model_id = request.path[len("/v1beta/models/"):-len(":generateContent")]
        if model_id not in self.known_models:
            return Reply(404, {"error": {"code": 404, "message": f"models/{model_id} is not found"
                                         " for API version v1beta, or is not supported for "
                                         "generateContent.", "status": "NOT_FOUND"}})
        try:
            body = request.json()
            images, text, schema = self._check(body)
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            with self._lock:
                self.problems.append(str(exc))
            return self.invalid(f"Invalid request: {exc}")
        with self._lock:
            self.paid_submits += 1
            self.images_seen.extend(images)
        prompt_tokens = 258 * len(images) + len(text) // 4
        props = schema.get("properties", {})
        if "questions" in props:
            match = _PROMPT.search(text)
            if not match:
                return self.invalid("no prompt in the text part")
            payload: Any = {"questions": questions_for(match.group(1))}
        elif "answers" in props:
            if len(images) != 1:
                return self.invalid(f"expected one image, got {len(images)}")
            pairs = [(int(i), q) for i, q in _QUESTION_LINE.findall(text.split("QUESTIONS:")[-1])]
            answers = []
            for qid, question in sorted(pairs, reverse=True):
                answer, reason = answer_from_pixels(question, images[0])
                answers.append({"id": qid, "answer": answer, "reason": reason})
            payload = {"answers": answers}
        elif "verdict" in props:
            if len(images) != 2:
                return self.invalid(f"expected two images, got {len(images)}")
            match = _PROMPT.search(text)
            qs = questions_for(match.group(1) if match else "")
            scores = [sum(answer_from_pixels(q["question"], im)[0] == "yes" for q in qs)
                      for im in images]
            verdict = ("first" if scores[0] > scores[1]
                       else "second" if scores[1] > scores[0] else "tie")
            payload = {"verdict": verdict, "reason": f"{scores[0]} vs {scores[1]} checks"}
        else:
            return self.invalid("unknown response schema")
        return Reply(200, self.json_answer(payload, prompt_tokens))

    def _check(self, body: dict[str, Any]) -> tuple[list[bytes], str, dict[str, Any]]:
        parts = body["contents"][0]["parts"]
        images: list[bytes] = []
        texts: list[str] = []
        for part in parts:
            blob = part.get("inlineData") or part.get("inline_data")
            if blob is not None:
                if texts:
                    raise ValueError("image parts must come before the text part")
                mime = blob.get("mimeType") or blob.get("mime_type")
                if mime not in FakeGemini.INLINE_TYPES:
                    raise ValueError(f"unsupported MIME type {mime}")
                images.append(base64.b64decode(blob["data"], validate=True))
            elif isinstance(part.get("text"), str):
                texts.append(part["text"])
            else:
                raise ValueError("a part that is neither inline data nor text")
        if len(texts) != 1:
            raise ValueError("expected exactly one text part")
        config = body["generationConfig"]
        if config.get("responseMimeType") != "application/json":
            raise ValueError("responseMimeType must be application/json")
        if "responseJsonSchema" in config:
            raise ValueError("send responseSchema or responseJsonSchema, not both")
        schema = config["responseSchema"]
        if schema.get("type") != "OBJECT" or not schema.get("required"):
            raise ValueError("responseSchema must be an OBJECT with required fields")
        return images, texts[0], schema
