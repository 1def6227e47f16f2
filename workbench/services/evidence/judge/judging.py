"""Judging a batch: which images and pairs need a call, what that may cost, and the calls.

`plan` counts the work before anything is sent: images already scored on their prompt's
current question set, and pairs already judged, are cached (no second call for the same image,
question set and judge model); offline sketches and images without a stored file are skipped
with the reason; the rest is priced (`estimate_usd` typical, `most_usd` the bound reserved).

`execute` sends the calls. Each one, in this order:

1. a done call about the same thing in the ledger is reused (its stored result, no new call);
   a pending one (under way elsewhere, or interrupted by a crash) is not sent again;
2. the batch budget (`--budget`) must hold spent + reserved + this call's bound;
3. the bound is reserved against the shared daily caps (`SpendLedger.reserve`, as for images);
4. a pending ledger row is written, then the request leaves;
5. the ledger row is completed with the billed tokens' cost (which also settles the
   reservation) and, in the same transaction, what the call produced.

A call Google refused before doing any work (HTTP 4xx) costs nothing; one that failed after
reaching it without saying what it billed (a server error, a timeout) keeps its reservation,
the most it could have cost. A retired judge model, a wrong key, an exhausted quota or a
spending cap stop the whole batch with that one message.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from workbench.config import Settings
from workbench.domain.catalog import OFFLINE
from workbench.domain.plural import count
from workbench.errors import InvalidInput
from workbench.providers.gemini_judge import GeminiJudgeClient, InlineImage, JudgeCallError
from workbench.providers.http import HttpPolicy
from workbench.services.evidence.judge import answers as answers_module
from workbench.services.evidence.judge import cost, images
from workbench.services.evidence.judge import questions as questions_module
from workbench.services.evidence.judge.settings import (
    JudgeUnavailable,
    Prices,
    judge_model,
    prices,
    thinking_config,
    unavailable_reason,
)
from workbench.services.workbench import Workbench
from workbench.store.db import utcnow
from workbench.store.judge import (
    ADHERENCE_CRITERIA,
    JudgeStore,
    QuestionSetRow,
    ScoreRow,
    TargetRow,
)
from workbench.store.spending import Caps

ClientFactory = Callable[[Settings], GeminiJudgeClient]
Progress = Callable[[int, int, str], None]
CONCURRENCY = 4
STOPPING = frozenset({"auth", "config", "quota_exhausted", "credits"})


def rater_name(model_id: str) -> str:
    """The name the judge's votes are recorded under."""
    return f"judge:{model_id}"


def default_client(settings: Settings) -> GeminiJudgeClient:
    reason = unavailable_reason(settings)
    key = settings.key("gemini")
    if reason or not key:
        raise JudgeUnavailable(reason or "no Gemini key")
    return GeminiJudgeClient(
        key=key, base_url=settings.base_url("gemini"), policy=HttpPolicy.from_env()
    )


def store(wb: Workbench) -> JudgeStore:
    return JudgeStore(wb.db)


def release_interrupted(wb: Workbench, older_than_s: float | None = None) -> int:
    """Let calls a crash left pending be sent again (asked for explicitly: the first may have
    been billed). Only calls older than the overall HTTP deadline, so one still under way in
    another process is left alone. Returns how many were released."""
    age = HttpPolicy.from_env().deadline_s if older_than_s is None else older_than_s
    return store(wb).calls.mark_interrupted(utcnow() - timedelta(seconds=age))


# -- planning ---------------------------------------------------------------------------------
@dataclass
class JudgePlan:
    judge_model: str
    prices: Prices
    to_score: list[TargetRow] = field(default_factory=list)
    cached: list[TargetRow] = field(default_factory=list)
    to_question: list[str] = field(default_factory=list)  # prompts without a question set
    pairs: list[tuple[TargetRow, TargetRow]] = field(default_factory=list)
    cached_pairs: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (generation, why)
    estimate_usd: float = 0.0
    most_usd: float = 0.0

    @property
    def calls(self) -> int:
        return len(self.to_question) + len(self.to_score) + 2 * len(self.pairs)

    def lines(self) -> list[str]:
        lines = [
            f"Judge model: {self.judge_model} (${self.prices.input_per_million:g} / "
            f"${self.prices.output_per_million:g} per million input / output tokens).",
            f"{count(len(self.to_score), 'image')} to judge, {len(self.cached):,} already judged "
            f"(cached, no call); {count(len(self.to_question), 'prompt')} "
            f"{'needs' if len(self.to_question) == 1 else 'need'} questions first.",
        ]
        if self.pairs or self.cached_pairs:
            lines.append(
                f"{count(len(self.pairs), 'pair')} to judge in both orders, "
                f"{self.cached_pairs:,} cached."
            )
        if self.skipped:
            lines.append(f"{len(self.skipped)} skipped: " + "; ".join(
                f"{gid}: {why}" for gid, why in self.skipped[:5]
            ) + (" ..." if len(self.skipped) > 5 else ""))
        lines.append(
            f"Estimated cost ${self.estimate_usd:.4f} for {count(self.calls, 'call')}; at most "
            f"${self.most_usd:.4f} is reserved while they run (billed tokens settle it)."
        )
        return lines


def _usable(target: TargetRow) -> str | None:
    if target.provider == OFFLINE:
        return "an offline sketch (never judged)"
    if target.status != "succeeded" or not target.image_sha256:
        return f"no image ({target.status})"
    return None


def _pairs(targets: Sequence[TargetRow]) -> list[tuple[TargetRow, TargetRow]]:
    """Arena-style pairs: two images of the same prompt text by two different models; within a
    prompt, the i-th image of one model meets the i-th of the other."""
    by_prompt: dict[str, dict[str, list[TargetRow]]] = {}
    for t in targets:
        by_prompt.setdefault(t.prompt, {}).setdefault(t.model, []).append(t)
    out: list[tuple[TargetRow, TargetRow]] = []
    for models in by_prompt.values():
        names = sorted(models)
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                out.extend(zip(models[a], models[b], strict=False))
    return out


def _ordered(a: TargetRow, b: TargetRow) -> tuple[TargetRow, TargetRow]:
    """A pair's fixed order (smaller image hash first): one cache entry per pair."""
    return (a, b) if (a.image_sha256 or "") <= (b.image_sha256 or "") else (b, a)


def plan(
    wb: Workbench,
    *,
    generation_ids: Sequence[str] = (),
    run_id: str | None = None,
    pairs: bool = False,
    voted: bool = False,
) -> JudgePlan:
    """What judging these generations would send and cost (nothing is sent)."""
    reason = unavailable_reason(wb.settings)
    if reason:
        raise JudgeUnavailable(reason)
    model = judge_model(wb.settings)
    price = prices(wb.settings, model)
    judge = store(wb)
    ids = list(generation_ids)
    voted_pairs: list[tuple[str, str]] = []
    if voted:
        for v in judge.scores.human_votes(ADHERENCE_CRITERIA):
            ids.extend([v.left_generation_id, v.right_generation_id])
            voted_pairs.append((v.left_generation_id, v.right_generation_id))
    if not ids and run_id is None:
        raise InvalidInput("Name a run or some generations to judge.")
    targets = judge.scores.targets(generation_ids=list(dict.fromkeys(ids)), run_id=run_id)
    found = {t.id for t in targets}
    result = JudgePlan(model, price)
    result.skipped.extend((gid, "not in the log") for gid in dict.fromkeys(ids) if gid not in found)
    usable: list[TargetRow] = []
    for t in targets:
        why = _usable(t)
        if why:
            result.skipped.append((t.id, why))
        else:
            usable.append(t)
    sets: dict[str, QuestionSetRow | None] = {}
    seen_images: set[tuple[str, str]] = set()
    for t in usable:
        if t.prompt not in sets:
            sets[t.prompt] = judge.sets.current_set(questions_module.prompt_hash(t.prompt), model)
            if sets[t.prompt] is None:
                result.to_question.append(t.prompt)
        key = (t.image_sha256 or "", t.prompt)
        if key in seen_images:
            result.cached.append(t)  # the same image and prompt twice: one call serves both
            continue
        seen_images.add(key)
        qset = sets[t.prompt]
        if qset is not None and judge.scores.get_score(t.image_sha256 or "", qset.id, model):
            result.cached.append(t)
        else:
            result.to_score.append(t)
    if pairs or voted:
        by_id = {t.id: t for t in usable}
        candidates = _pairs(usable) if pairs else []
        for left, right in voted_pairs:
            a, b = by_id.get(left), by_id.get(right)
            if a and b and a.prompt == b.prompt and a.model != b.model:
                candidates.append((a, b))
        rater = rater_name(model)
        done: set[tuple[str, str, str]] = set()
        for a, b in candidates:
            first, second = _ordered(a, b)
            ends = (first.image_sha256 or "", second.image_sha256 or "", first.prompt)
            if ends in done or ends[0] == ends[1]:
                continue
            done.add(ends)
            cached = judge.votes.get_judge_vote(
                ends[0], ends[1], questions_module.prompt_hash(first.prompt), rater
            )
            if cached:
                result.cached_pairs += 1
            else:
                result.pairs.append((first, second))
    _price(result)
    return result


def _price(p: JudgePlan) -> None:
    typical = most = 0.0
    for prompt in p.to_question:
        b = cost.bound(
            p.prices, p.judge_model,
            text_bytes=len(questions_module.request_text(prompt).encode()), images=[],
            max_output=cost.QUESTION_MAX_OUTPUT,
            typical_output=cost.TYPICAL_QUESTIONS * cost.TYPICAL_TOKENS_PER_ANSWER * 2,
        )
        typical, most = typical + b.typical_usd, most + b.most_usd
    for t in p.to_score:
        n = cost.TYPICAL_QUESTIONS
        text = 1500 + 300 * n
        b = cost.bound(
            p.prices, p.judge_model, text_bytes=text, images=[(t.width, t.height)],
            max_output=cost.answers_max_output(questions_module.MAX_QUESTIONS),
            typical_output=n * cost.TYPICAL_TOKENS_PER_ANSWER,
        )
        typical, most = typical + b.typical_usd, most + b.most_usd
    for a, b_ in p.pairs:
        b = cost.bound(
            p.prices, p.judge_model,
            text_bytes=len(answers_module.pair_text(a.prompt).encode()),
            images=[(a.width, a.height), (b_.width, b_.height)],
            max_output=cost.PAIR_MAX_OUTPUT, typical_output=40,
        )
        typical, most = typical + 2 * b.typical_usd, most + 2 * b.most_usd
    p.estimate_usd, p.most_usd = round(typical, 6), round(most, 6)


# -- executing --------------------------------------------------------------------------------
@dataclass
class JudgeReport:
    judge_model: str
    scored: list[tuple[str, float]] = field(default_factory=list)  # (generation, score)
    cached: int = 0
    pairs: list[tuple[str, str, str]] = field(default_factory=list)  # (left, right, winner)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (what, why)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    calls: int = 0
    spent_usd: float = 0.0
    stopped: str | None = None
    wall_s: float = 0.0
    provider_s: float = 0.0

    def lines(self) -> list[str]:
        lines = [
            f"Judged {count(len(self.scored), 'image')} ({self.cached:,} cached) and "
            f"{count(len(self.pairs), 'pair')} with {self.judge_model}: "
            f"{count(self.calls, 'call')}, "
            f"${self.spent_usd:.4f} billed."
        ]
        lines.extend(f"failed: {what}: {why}" for what, why in self.failed)
        if self.stopped:
            lines.append(f"stopped: {self.stopped}")
        return lines


class _Stop(Exception):
    pass


class _CallFailed(Exception):
    pass


@dataclass
class _Batch:
    wb: Workbench
    client: GeminiJudgeClient
    model: str
    price: Prices
    budget_usd: float | None
    report: JudgeReport
    judge: JudgeStore
    reserved: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def call(
        self,
        kind: str,
        cache_key: str,
        most_usd: float,
        send: Callable[[], Awaitable[Any]],
        interpret: Callable[[dict[str, Any]], Any],
        save: Callable[[Any, Any, str], None],
    ) -> Any:
        """One judge call under the rules of the module docstring; returns what `interpret`
        made of the answer (from a reused done call too)."""
        if self.report.stopped:
            raise _Stop
        existing = await asyncio.to_thread(self.judge.calls.open_calls, cache_key)
        for row in existing:
            if row.status == "done" and row.result is not None:
                return interpret(row.result)
        if existing:
            raise _CallFailed(
                f"a judge call for this ({existing[0].id}) is under way or was interrupted; "
                "it is not sent again (workbench judge --resend-interrupted releases calls a "
                "crash left behind)"
            )
        async with self.lock:
            if self.report.stopped:
                raise _Stop
            spent = self.report.spent_usd + self.reserved
            if self.budget_usd is not None and spent + most_usd > self.budget_usd + 1e-12:
                self.report.stopped = (
                    f"the budget of ${self.budget_usd:.4f} would be passed (${spent:.4f} spent "
                    f"or reserved, this call may cost up to ${most_usd:.4f})"
                )
                raise _Stop
            self.reserved += most_usd
        call_id = f"judge_{uuid.uuid4().hex[:16]}"
        settings = self.wb.settings
        try:
            refusal = await asyncio.to_thread(
                self.wb.spending.reserve, call_id, settings.user, most_usd,
                Caps(settings.daily_budget_usd, settings.user_daily_budget_usd),
            )
            if refusal:
                self.report.stopped = refusal
                raise _Stop
            await asyncio.to_thread(
                self.judge.calls.begin_call, call_id, kind, cache_key, self.model, most_usd,
                settings.user,
            )
        except BaseException:
            async with self.lock:
                self.reserved -= most_usd
            raise
        self.report.calls += 1
        try:
            reply = await send()
        except JudgeCallError as exc:
            billed = self._cost(exc.usage) if exc.usage else None
            if billed is None and exc.status_code is not None and 400 <= exc.status_code < 500:
                billed = 0.0  # refused before any work: nothing billed
            await self._finish(call_id, most_usd, billed, exc.usage, None, exc.kind, exc.message,
                               None)
            if exc.kind in STOPPING:
                self.report.stopped = exc.message
            raise _CallFailed(exc.message) from None
        self.report.provider_s += reply.provider_ms / 1000
        billed = self._cost(reply.usage) if reply.usage else None
        try:
            result = interpret(reply.data)
        except InvalidInput as exc:
            message = f"Gemini's judge answer cannot be used: {exc}"
            await self._finish(call_id, most_usd, billed, reply.usage, reply.finish_reason,
                               "malformed", message, None)
            raise _CallFailed(message) from None
        await self._finish(call_id, most_usd, billed, reply.usage, reply.finish_reason, None,
                           None, reply.data, lambda cur: save(cur, result, call_id))
        return result

    def _cost(self, usage: Any) -> float:
        return self.price.cost(usage.input, usage.output, usage.thinking)

    async def _finish(
        self, call_id: str, most_usd: float, billed: float | None, usage: Any,
        finish: str | None, error_kind: str | None, error: str | None,
        result: dict[str, Any] | None, then: Callable[[Any], None] | None = None,
    ) -> None:
        tokens = (usage.input, usage.output, usage.thinking) if usage else None
        await asyncio.to_thread(
            self.judge.calls.finish_call, call_id,
            status="done" if error_kind is None else "failed", cost_usd=billed, tokens=tokens,
            finish_reason=finish, error_kind=error_kind, error_message=error,
            provider_ms=None, result=result, then=then,
        )
        async with self.lock:
            self.reserved -= most_usd
            self.report.spent_usd += billed if billed is not None else most_usd


def execute(
    wb: Workbench,
    planned: JudgePlan,
    *,
    budget_usd: float | None = None,
    client_factory: ClientFactory = default_client,
    concurrency: int = CONCURRENCY,
    progress: Progress | None = None,
) -> JudgeReport:
    """Send the plan's calls (see the module docstring); never raises for one failed call."""
    if budget_usd is not None and budget_usd < 0:
        raise InvalidInput("The budget cannot be negative.")
    return asyncio.run(_execute(wb, planned, budget_usd, client_factory, concurrency, progress))


async def _execute(
    wb: Workbench, planned: JudgePlan, budget_usd: float | None, client_factory: ClientFactory,
    concurrency: int, progress: Progress | None,
) -> JudgeReport:
    started = time.perf_counter()
    report = JudgeReport(planned.judge_model, cached=len(planned.cached),
                         skipped=list(planned.skipped))
    client = client_factory(wb.settings)
    batch = _Batch(wb, client, planned.judge_model, planned.prices, budget_usd, report, store(wb))
    gate = asyncio.Semaphore(max(1, concurrency))
    prompt_locks: dict[str, asyncio.Lock] = {}
    total = len(planned.to_score) + len(planned.pairs)
    done = 0

    def tick(what: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total, what)

    question_failures: dict[str, str] = {}

    async def question_set(prompt: str) -> QuestionSetRow:
        async with prompt_locks.setdefault(prompt, asyncio.Lock()):
            # A prompt whose questions could not be had fails its other images at once:
            # asking again within the batch would only pay again.
            if prompt in question_failures:
                raise _CallFailed(question_failures[prompt])
            try:
                return await _question_set(batch, prompt, gate)
            except _CallFailed as exc:
                question_failures[prompt] = f"no questions for this prompt: {exc}"
                raise

    async def score(t: TargetRow) -> None:
        try:
            qset = await question_set(t.prompt)
            value = await _score(batch, t, qset, gate)
            report.scored.append((t.id, value))
        except _CallFailed as exc:
            report.failed.append((t.id, str(exc)))
        except _Stop:
            pass
        tick(t.id)

    async def pair(a: TargetRow, b: TargetRow) -> None:
        try:
            winner = await _pair(batch, a, b, gate)
            report.pairs.append((a.id, b.id, winner))
        except _CallFailed as exc:
            report.failed.append((f"{a.id} vs {b.id}", str(exc)))
        except _Stop:
            pass
        tick(f"{a.id} vs {b.id}")

    try:
        await asyncio.gather(*(score(t) for t in planned.to_score),
                             *(pair(a, b) for a, b in planned.pairs))
    finally:
        await client.aclose()
    report.wall_s = time.perf_counter() - started
    return report


async def _question_set(batch: _Batch, prompt: str, gate: asyncio.Semaphore) -> QuestionSetRow:
    digest = questions_module.prompt_hash(prompt)
    current = await asyncio.to_thread(batch.judge.sets.current_set, digest, batch.model)
    if current is not None:
        return current
    text = questions_module.request_text(prompt)
    bound = cost.bound(batch.price, batch.model, text_bytes=len(text.encode()), images=[],
                       max_output=cost.QUESTION_MAX_OUTPUT, typical_output=0)
    set_id = f"qs_{uuid.uuid4().hex[:16]}"
    holder: dict[str, QuestionSetRow] = {}

    def save(cur: Any, parsed: list[questions_module.Question], call_id: str) -> None:
        holder["set"] = batch.judge.sets.add_set(
            set_id, digest, prompt, batch.model, "generated",
            questions_module.as_json(parsed), call_id, batch.wb.settings.user, cur=cur,
        )

    async def send() -> Any:
        async with gate:
            return await batch.client.ask(
                batch.model, images=[], text=text, schema=questions_module.SCHEMA,
                max_output_tokens=cost.QUESTION_MAX_OUTPUT,
                thinking=thinking_config(batch.model),
            )

    await batch.call(
        "questions", f"q:{batch.model}:{digest}", bound.most_usd, send,
        lambda data: questions_module.parse_questions(data.get("questions")), save,
    )
    if "set" in holder:
        return holder["set"]
    # The questions came from an earlier done call whose set is already stored.
    current = await asyncio.to_thread(batch.judge.sets.current_set, digest, batch.model)
    if current is None:
        raise _CallFailed("the question set of an earlier call is missing")
    return current


def _questions(qset: QuestionSetRow) -> list[questions_module.Question]:
    return questions_module.parse_questions(qset.questions)


async def _score(
    batch: _Batch, t: TargetRow, qset: QuestionSetRow, gate: asyncio.Semaphore
) -> float:
    sha = t.image_sha256 or ""
    cached = await asyncio.to_thread(batch.judge.scores.get_score, sha, qset.id, batch.model)
    if cached is not None:
        return cached.score
    questions = _questions(qset)
    try:
        image = images.load(batch.wb.settings.data_dir, t.image_path, sha, t.mime)
    except InvalidInput as exc:
        raise _CallFailed(str(exc)) from None
    text = answers_module.request_text(questions)
    max_output = cost.answers_max_output(len(questions))
    bound = cost.bound(batch.price, batch.model, text_bytes=len(text.encode()),
                       images=[(t.width, t.height)], max_output=max_output, typical_output=0)

    def interpret(data: dict[str, Any]) -> tuple[float, list[answers_module.Answer]]:
        return answers_module.dsg(questions, answers_module.parse_answers(data, questions))

    def save(cur: Any, result: tuple[float, list[answers_module.Answer]], call_id: str) -> None:
        value, answered = result
        batch.judge.scores.add_score(ScoreRow(
            sha, qset.id, batch.model, value,
            [{"id": a.id, "answer": a.answer, "counted": a.counted, "reason": a.reason}
             for a in answered],
            call_id,
        ), cur=cur)

    async def send() -> Any:
        async with gate:
            return await batch.client.ask(
                batch.model, images=[image], text=text, schema=answers_module.SCHEMA,
                max_output_tokens=max_output, thinking=thinking_config(batch.model),
            )

    value, _ = await batch.call("answers", f"a:{batch.model}:{qset.id}:{sha}", bound.most_usd,
                                send, interpret, save)
    return float(value)


async def _pair(batch: _Batch, a: TargetRow, b: TargetRow, gate: asyncio.Semaphore) -> str:
    left, right = _ordered(a, b)
    digest = questions_module.prompt_hash(left.prompt)
    rater = rater_name(batch.model)
    ls, rs = left.image_sha256 or "", right.image_sha256 or ""
    cached = await asyncio.to_thread(batch.judge.votes.get_judge_vote, ls, rs, digest, rater)
    if cached is not None:
        return cached.winner
    try:
        pictures = [images.load(batch.wb.settings.data_dir, t.image_path, t.image_sha256 or "",
                                t.mime) for t in (left, right)]
    except InvalidInput as exc:
        raise _CallFailed(str(exc)) from None
    text = answers_module.pair_text(left.prompt)
    bound = cost.bound(batch.price, batch.model, text_bytes=len(text.encode()),
                       images=[(left.width, left.height), (right.width, right.height)],
                       max_output=cost.PAIR_MAX_OUTPUT, typical_output=0)
    call_ids: list[str] = []

    def sender(shown: list[InlineImage]) -> Callable[[], Awaitable[Any]]:
        async def send() -> Any:
            async with gate:
                return await batch.client.ask(
                    batch.model, images=shown, text=text, schema=answers_module.PAIR_SCHEMA,
                    max_output_tokens=cost.PAIR_MAX_OUTPUT, thinking=thinking_config(batch.model),
                )
        return send

    def keep(cur: Any, result: Any, call_id: str) -> None:
        call_ids.append(call_id)

    base = f"p:{batch.model}:{digest}:{ls}:{rs}"
    first = await batch.call("pair", f"{base}:1", bound.most_usd, sender(pictures),
                             answers_module.parse_verdict, keep)
    second = await batch.call("pair", f"{base}:2", bound.most_usd, sender(pictures[::-1]),
                              answers_module.parse_verdict, keep)
    in_first = {"first": "left", "second": "right", "tie": "tie"}[first]
    in_second = {"first": "right", "second": "left", "tie": "tie"}[second]
    winner = answers_module.combine(in_first, in_second)
    vote = {
        "id": f"jv_{uuid.uuid4().hex[:16]}",
        "left_generation_id": left.id, "right_generation_id": right.id,
        "left_sha256": ls, "right_sha256": rs, "left_model": left.model,
        "right_model": right.model, "left_provider": left.provider,
        "right_provider": right.provider, "criterion": "prompt_adherence",
        "category": left.category, "prompt": left.prompt, "prompt_hash": digest,
        "winner": winner, "first_order": in_first, "second_order": in_second, "rater": rater,
        "call_ids": json.dumps(call_ids),
    }
    await asyncio.to_thread(batch.judge.votes.add_judge_vote, vote)
    return winner
