"""Live progress of one run on a Rich console, fed by core events (in process or over SSE).

Milestones (analysis, chosen model, each answer, each judge's score, running cost) are printed
as lines; on a terminal, a transient live line shows the answer as it streams. Model text is
always printed as plain text (never as Rich markup); the final answer is rendered as Markdown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

from rich.console import Console, Group
from rich.live import Live
from rich.markdown import Markdown
from rich.panel import Panel
from rich.text import Text

from orchestratex.core.events import (
    AnalysisEvent,
    CancelledEvent,
    CompletedEvent,
    EvaluationEvent,
    Event,
    FailedEvent,
    ImprovementEvent,
    ModelCallEvent,
    ResponseChunkEvent,
    ResponseEvent,
    SelectionEvent,
    StartedEvent,
)
from orchestratex.core.orchestration import OrchestrationResult, RubricScore
from orchestratex.testing.fake_provider.behaviour import PREFIX as FAKE_PREFIX

PREVIEW_CHARS = 160
CRITIQUE_CHARS = 400
MAX_SUGGESTIONS = 3
LIVE_TAIL_CHARS = 200
MAX_REASONS = 2
LABEL_WIDTH = 10


def one_line(text: str, limit: int) -> str:
    """`text` on one line, cut to `limit` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def money(usd: float) -> str:
    return f"${usd:.6f}" if 0 < usd < 0.01 else f"${usd:.4f}"


def mode_note(mode: object) -> str | None:
    """What to tell the user about the service's answer mode, if anything."""
    if mode in (None, "", "live", "auto"):
        return None
    if mode == "replay":
        return "replay mode: answers are recorded responses replayed, not live model calls"
    if mode == "fake":
        return "fake mode: answers come from the fake provider (a test tool, not a model)"
    return f"the service runs in {mode} mode"


def is_fake_answer(text: str | None) -> bool:
    """True when the text is the fake provider's (a test tool's), not a model's."""
    return bool(text) and FAKE_PREFIX in (text or "")


def _label(name: str) -> Text:
    line = Text()
    line.append(f"{name:<{LABEL_WIDTH}}", style="bold cyan")
    return line


@dataclass
class RunProgress:
    """What the renderer knows so far about the run."""

    thread_id: str | None = None
    cost_usd: float = 0.0
    unknown_cost_calls: int = 0
    round: int = 0
    model: str | None = None
    streamed: dict[int, str] = field(default_factory=dict)
    fake_seen: bool = False


class ProgressRenderer:
    """Renders events as they come; use as a context manager around the run."""

    def __init__(
        self, console: Console, *, live: bool | None = None, critiques: bool = True
    ) -> None:
        self.console = console
        self.critiques = critiques
        self.state = RunProgress()
        use_live = console.is_terminal if live is None else live
        self._live: Live | None = (
            Live(console=console, transient=True, refresh_per_second=8, auto_refresh=True)
            if use_live
            else None
        )

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Show the live line (on a terminal); `stop()` removes it."""
        if self._live is not None and not self._live.is_started:
            self._live.start()

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def note(self, message: str, style: str = "yellow") -> None:
        self.console.print(Text(message, style=style))

    def _line(self, label: str, *parts: Text | str) -> None:
        line = _label(label)
        for part in parts:
            line.append_text(part if isinstance(part, Text) else Text(part))
        self.console.print(line)

    def _refresh(self, status: str, *, now: bool = True) -> None:
        """Show `status` and the streamed tail on the live line (drawn at once unless `now`
        is False: streaming chunks wait for the next automatic refresh)."""
        if self._live is None:
            return
        tail = self.state.streamed.get(self.state.round, "")[-LIVE_TAIL_CHARS:]
        head = Text(f"{status} · cost so far {self._cost()}", style="dim")
        self._live.update(Group(head, Text(" ".join(tail.split()), style="italic")), refresh=now)

    def _cost(self) -> str:
        extra = (
            f" ({self.state.unknown_cost_calls} estimated or unpriced)"
            if self.state.unknown_cost_calls
            else ""
        )
        return money(self.state.cost_usd) + extra

    def handle(self, event: Event) -> None:
        """Show one event."""
        if isinstance(event, StartedEvent):
            self.state.thread_id = event.thread_id
            self._line("Thread", Text(event.thread_id, style="dim"))
        elif isinstance(event, AnalysisEvent):
            a = event.analysis
            self._line("Analysis", f"domain {a.domain.value} · complexity {a.complexity:.2f}")
        elif isinstance(event, SelectionEvent):
            self._selection(event)
        elif isinstance(event, ResponseChunkEvent):
            self.state.round, self.state.model = event.round, event.model
            self.state.streamed[event.round] = self.state.streamed.get(event.round, "") + event.text
            self._refresh(f"round {event.round} · {event.model} is writing", now=False)
        elif isinstance(event, ModelCallEvent):
            self._call(event)
        elif isinstance(event, ResponseEvent):
            self._response(event)
        elif isinstance(event, EvaluationEvent):
            self._evaluation(event)
        elif isinstance(event, ImprovementEvent):
            self._improvement(event)
        elif isinstance(event, CompletedEvent | FailedEvent | CancelledEvent):
            self.stop()

    def _selection(self, event: SelectionEvent) -> None:
        decision = event.decision
        self.state.model = decision.model
        reasons = "; ".join(decision.reasons[:MAX_REASONS])
        label = "Model" if event.round == 1 else f"Model r{event.round}"
        self._line(label, Text(decision.model, style="bold"), f" — {reasons}" if reasons else "")
        self._refresh(f"round {event.round} · waiting for {decision.model}")

    def _call(self, event: ModelCallEvent) -> None:
        self.state.cost_usd += event.cost_usd
        if not event.cost_known:
            self.state.unknown_cost_calls += 1
        if not event.success:
            error = one_line(event.error or "unknown error", 200)
            self.note(f"  {event.purpose} call to {event.model} failed: {error}")
        self._refresh(f"round {event.round} · {event.purpose} call by {event.model} done")

    def _response(self, event: ResponseEvent) -> None:
        self.state.fake_seen = self.state.fake_seen or is_fake_answer(event.text)
        preview = Text(one_line(event.text, PREVIEW_CHARS), style="italic")
        took = f"{event.latency_ms / 1000:.1f} s"
        self._line(
            f"Round {event.round}",
            Text(event.model, style="bold"),
            f" ({event.kind}, {len(event.text)} chars, {took}): ",
            preview,
        )
        self._refresh(f"round {event.round} · judges are reading {event.model}'s answer")

    def _evaluation(self, event: EvaluationEvent) -> None:
        for verdict in event.verdicts:
            if verdict.score is not None:
                score = Text(f"{verdict.score.overall:.1f}/10", style="bold")
                self._line("", f"judge {verdict.judge}: ", score)
                if self.critiques:
                    self._critique(verdict.score)
            else:
                reason = one_line(verdict.error or "no verdict", 120)
                self._line("", f"judge {verdict.judge}: ", Text(f"failed ({reason})", "yellow"))
        total = "no score" if event.score is None else f"{event.score:.1f}/10"
        self._line(
            "",
            Text(f"round {event.round} score {total}", style="bold"),
            f" · cost so far {self._cost()}",
        )

    def _critique(self, score: RubricScore) -> None:
        """The judge's critique and first suggestions, as plain text (they are model output)."""
        if score.critique.strip():
            self._line("", Text(f"  {one_line(score.critique, CRITIQUE_CHARS)}", style="dim"))
        for suggestion in score.suggestions[:MAX_SUGGESTIONS]:
            if suggestion.strip():
                self._line("", Text(f"  - {one_line(suggestion, PREVIEW_CHARS)}", style="dim"))
        if len(score.suggestions) > MAX_SUGGESTIONS:
            more = len(score.suggestions) - MAX_SUGGESTIONS
            self._line("", Text(f"  (+{more} more suggestions)", style="dim"))

    def _improvement(self, event: ImprovementEvent) -> None:
        change = (
            f"{event.from_model} revises"
            if event.strategy == "revise" and event.from_model == event.to_model
            else f"{event.strategy} {event.from_model} → {event.to_model}"
        )
        self._line(f"Round {event.round}", f"{change}: {one_line(event.reason, 160)}")


def render_result(
    console: Console, result: OrchestrationResult, *, notes: list[str] | None = None
) -> None:
    """The final answer as Markdown with its score, rounds, stop reason and total cost."""
    for message in notes or []:
        console.print(Text(message, style="yellow"))
    best = next((r for r in result.rounds if r.round == result.best_round), None)
    if result.answer:
        title = "Best answer so far" if result.status == "cancelled" else "Answer"
        if best is not None:
            title += f" (round {best.round}, {best.model})"
        console.print(Panel(Markdown(result.answer), title=title, title_align="left"))
    elif result.status != "completed":
        console.print(Text("no answer was produced", style="yellow"))
    score = "no score" if result.score is None else f"score {result.score:.1f}/10"
    summary = (
        f"{score} · rounds {len(result.rounds)}"
        + (f" (best {result.best_round})" if result.best_round else "")
        + f" · stop {result.stop_reason} · total cost {money(result.total_cost_usd)}"
        + f" · {result.elapsed_ms / 1000:.1f} s"
    )
    style = {"completed": "bold green", "failed": "bold red", "cancelled": "bold yellow"}
    console.print(Text(f"{result.status}: ", style=style[result.status]) + Text(summary))
    if result.error:
        console.print(Text(f"error: {one_line(result.error, 300)}", style="red"))
