"""The worker: one loop that claims and reports, step tasks that run actions, heartbeats.

    listener ──wake──▶ ┌──────────── main loop (the only one to start claims/reports) ─────┐
    timers   ──wake──▶ │ reports waiting?  → report_steps (batch) → next steps handed back │
                       │ free slots?       → claim_steps(free)                             │
                       │ otherwise         → sleep until woken, a job falls due, or poll   │
                       └───────────────▲────────────────────────────┬──────────────────────┘
                                       │ report                     │ start
                                  step tasks (≤ concurrency) ◀──────┘
    heartbeat task: extends our leases; cancels tasks whose lease we lost.

Up to `pipeline` round trips are in flight at once (see _pipeline), each holding at most
concurrency/pipeline of the free slots, so the database works on one batch while this process
runs another. Only the main
loop starts them, so "which steps does this worker hold" is always known exactly: when a
call's answer is lost (the connection dropped after the commit), the steps that answer
handed to us are released, once no other call is in flight, instead of waiting out their
lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar
from uuid import UUID

import asyncpg
import httpx
import msgspec

from flowsync import db
from flowsync.actions import Registry, Resources, SmtpSettings, default_registry
from flowsync.log import get_logger
from flowsync.store import engine as store
from flowsync.store.engine import StepClaim
from flowsync.worker.config import WorkerConfig
from flowsync.worker.held import HeldConnections
from flowsync.worker.listener import JobListener
from flowsync.worker.runner import run_step
from flowsync.worker.transient import TRANSIENT_ERRORS, describe, retry_transient

log = get_logger("flowsync.worker")
T = TypeVar("T")
R = TypeVar("R", list[StepClaim], tuple[list[store.ReportOutcome], list[StepClaim]])


def _claims_in(
    result: list[StepClaim] | tuple[list[store.ReportOutcome], list[StepClaim]],
) -> list[StepClaim]:
    return result[1] if isinstance(result, tuple) else result


ENV_PREFIX = "FLOWSYNC_ENV_"


async def _wait_for_event(event: asyncio.Event, seconds: float | None) -> None:
    """Until `event` is set or `seconds` have passed (None: no limit)."""
    # (asyncio.timeout, not wait_for: that runs the wait as a task of its own)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(None if seconds is None else max(seconds, 0)):
            await event.wait()


def expression_env(environ: dict[str, str] | os._Environ[str]) -> dict[str, str]:
    """FLOWSYNC_ENV_<NAME> variables, visible to expressions as env.<NAME>."""
    return {k[len(ENV_PREFIX) :]: v for k, v in environ.items() if k.startswith(ENV_PREFIX)}


class Worker:
    def __init__(
        self,
        dsn: str,
        config: WorkerConfig,
        *,
        registry: Registry | None = None,
        resources: Resources | None = None,
    ) -> None:
        self.dsn = dsn
        self.config = config
        self.id = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self.registry = registry or default_registry()
        self._resources = resources
        self._queues = list(config.queues)
        self._pool: asyncpg.Pool[Any] | None = None
        self._held: HeldConnections | None = None  # for the claim/report calls
        self._tasks: dict[int, tuple[StepClaim, asyncio.Task[None]]] = {}
        self._reports: dict[int, msgspec.Raw] = {}  # by step id
        self._report_executions: set[UUID] = set()  # the executions of self._reports
        self._reporting: set[UUID] = set()  # executions of the reports in flight
        self._to_release: list[StepClaim] = []
        self._lost: set[int] = set()  # steps whose lease we no longer hold
        self._activity = asyncio.Event()
        self._calls: set[asyncio.Task[None]] = set()  # claim/report round trips in flight
        self._reserved = 0  # slots promised to the calls in flight
        self._reconcile = False  # a retried call may have leased steps we never heard of
        self._failure: BaseException | None = None  # a call in flight failed for good
        self._maybe_ready = True
        # When to look for due jobs again (monotonic), unless something wakes us first: the
        # poll deadline, and the earliest run_at we were told of (see _wake_at).
        self._next_poll = 0.0
        self._next_due = math.inf
        self._replan = False  # a due time was spent: ask the database for the next one
        self._wakes = 0  # counts wake-ups, so one arriving during a claim is not lost
        self._stopping = False
        self._grace_deadline = 0.0
        self._peers = 0  # other live workers of our queues (see _pipeline)
        self._peers_changed = asyncio.Event()
        self.listener = JobListener(dsn, config.queues, self._on_wake, self._peers_changed.set)
        self.steps_run = 0

    # -- lifecycle ------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set, then drain within the grace period and return."""
        self._pool = await retry_transient(
            "connect",
            lambda: db.create_pool(
                self.dsn,
                min_size=2,
                max_size=6,
                application_name="flowsync-worker",
                generic_plans=True,
                command_timeout=self.config.db_command_timeout,
            ),
            give_up=stop.is_set,
        )
        self._held = HeldConnections(self._pool)
        http: httpx.AsyncClient | None = None  # ours to close, when we made it
        resources = self._resources
        if resources is None:
            http = httpx.AsyncClient(timeout=30.0)
            resources = Resources(
                http=http,
                env=expression_env(os.environ),
                smtp=SmtpSettings.from_env(os.environ),
                db=self._pool,
            )
        pool = self._pool
        await retry_transient(
            "register_worker",
            lambda: store.register_worker(
                pool,
                self.id,
                socket.gethostname(),
                os.getpid(),
                self._queues,
                self.config.concurrency,
            ),
            give_up=stop.is_set,
        )
        log.info(
            "worker.started",
            worker=self.id,
            queues=self._queues,
            concurrency=self.config.concurrency,
        )
        listener_stop = asyncio.Event()
        helpers = [
            asyncio.create_task(self.listener.run(listener_stop)),
            asyncio.create_task(self._peer_counts()),
            asyncio.create_task(self._heartbeats()),
            asyncio.create_task(self._rescues()),
            asyncio.create_task(self._watch_stop(stop)),
        ]
        try:
            await self._main_loop(resources)
        finally:
            listener_stop.set()
            # (step tasks too: after a failure they must not run on against a closed pool)
            leftovers = [*helpers, *self._calls, *(task for _, task in self._tasks.values())]
            for task in leftovers:
                task.cancel()
            await asyncio.gather(*leftovers, return_exceptions=True)
            await self._held.release()
            try:
                await asyncio.wait_for(store.stop_worker(pool, self.id), 5)
            except (*TRANSIENT_ERRORS, asyncpg.PostgresError):  # type: ignore[misc]
                pass  # best effort: the row only tells operators when we left
            await pool.close()
            if http is not None:
                await http.aclose()
            log.info("worker.stopped", worker=self.id, steps_run=self.steps_run)

    async def _watch_stop(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self._stopping = True
        self._grace_deadline = time.monotonic() + self.config.grace_seconds
        log.info("worker.stopping", worker=self.id, in_flight=len(self._tasks))
        self._activity.set()

    # -- the main loop ----------------------------------------------------------------------

    async def _main_loop(self, resources: Resources) -> None:
        while True:
            self._activity.clear()
            if self._failure is not None:
                raise self._failure
            if self._reconcile and not self._calls:
                await self._release_unknown()
                continue
            can_call = len(self._calls) < self._pipeline and not self._reconcile
            # A report locks its executions until it commits: another report for one of them
            # would only wait its turn, so it waits here, and the loop claims new work (no
            # such lock) beside the report in flight instead.
            if self._reports and can_call and self._report_executions.isdisjoint(self._reporting):
                batch, self._reports = list(self._reports.values()), {}
                executions, self._report_executions = self._report_executions, set()
                limit = 0 if self._stopping else self._free_slots()
                now = time.monotonic()
                # Due jobs fill the slots our own hand-offs leave only if some may be due:
                # looking costs the report a claim's work, which a chain would pay per step.
                top_up = limit > 0 and (self._maybe_ready or now >= self._wake_at())
                if top_up:
                    self._looking(now)
                self._reporting.update(executions)
                self._spawn(
                    limit,
                    self._flush_reports(batch, limit, top_up, self._wakes, resources),
                    functools.partial(self._done_reporting, executions),
                )
                continue
            if self._to_release:
                await self._release()
                continue
            if self._stopping:
                if not self._tasks and not self._calls:
                    return
                if time.monotonic() >= self._grace_deadline:
                    for step_id, (_claim, task) in self._tasks.items():
                        if step_id not in self._lost:
                            task.cancel()  # handed back by _release once cancelled
                    await asyncio.sleep(0)
                await self._wait(max(0.0, self._grace_deadline - time.monotonic()) or 0.05)
                continue
            free = self._free_slots()
            now = time.monotonic()
            if free > 0 and can_call and (self._maybe_ready or now >= self._wake_at()):
                self._maybe_ready = False
                self._looking(now)
                self._spawn(free, self._claim(free, self._wakes, resources))
                continue
            await self._wait(self._wake_at() - now if free > 0 and can_call else None)

    def _wake_at(self) -> float:
        """When to look for due jobs again, unless something wakes us first."""
        return min(self._next_poll, self._next_due)

    def _looking(self, now: float) -> None:
        """A call is about to look for the jobs due by `now`: the poll interval starts again
        and a due time we knew of is spent. Wake-ups keep only the earliest run_at they
        bring, so later ones may have been folded into it: ask the database for the next one
        once the call is done (_after_claiming)."""
        self._next_poll = now + self.config.poll_seconds
        if self._next_due <= now:
            self._next_due = math.inf
            self._replan = True

    def _free_slots(self) -> int:
        """Slots the next claim may fill: not running a step, not promised to a call in
        flight, and at most an even share of the pipeline (so that calls overlap)."""
        share = -(-self.config.concurrency // self._pipeline)
        free = self.config.concurrency - len(self._tasks) - self._reserved
        return max(0, min(share, free))

    def _done_reporting(self, executions: set[UUID]) -> None:
        self._reporting -= executions  # (disjoint from every other report in flight)

    def _spawn(
        self,
        slots: int,
        call: Coroutine[Any, Any, None],
        on_done: Callable[[], None] = lambda: None,
    ) -> None:
        """Run a claim/report round trip beside the loop, holding `slots` until it is done."""
        self._reserved += slots
        task = asyncio.create_task(call)
        self._calls.add(task)

        def done(finished: asyncio.Task[None]) -> None:
            self._calls.discard(finished)
            self._reserved -= slots
            on_done()
            if not finished.cancelled() and finished.exception() is not None:
                self._failure = self._failure or finished.exception()
            self._activity.set()

        task.add_done_callback(done)

    async def _claim(self, limit: int, wakes_before: int, resources: Resources) -> None:
        claims = await self._reconciled(
            "claim_steps",
            functools.partial(
                self._held_().run,
                functools.partial(
                    store.claim_steps,
                    worker=self.id,
                    queues=self._queues,
                    limit=limit,
                    lease_ms=self.config.lease_ms,
                ),
            ),
            resources,
        )
        await self._after_claiming(limit, len(claims), wakes_before)

    async def _wait(self, seconds: float | None) -> None:
        await _wait_for_event(self._activity, seconds)

    async def _plan_sleep(self) -> None:
        """Nothing more is ready: learn when the next job falls due. Only ever brings the
        wake-up forward, so a sooner run_at notified meanwhile still counts."""
        self._replan = False  # (before asking: a due time spent meanwhile asks again)
        due = await self._db("next_run_at", lambda: store.next_run_at(self._pool_(), self._queues))
        if due is not None:
            in_seconds = max(0.0, due.timestamp() - time.time())
            self._next_due = min(self._next_due, time.monotonic() + in_seconds)

    def _on_wake(self, run_at: float | None) -> None:
        """From the listener: new jobs (due at `run_at`, epoch seconds) or "look now"."""
        self._wakes += 1
        delay = 0.0 if run_at is None else run_at - time.time()
        if delay <= 0.001:
            self._maybe_ready = True
        else:
            self._next_due = min(self._next_due, time.monotonic() + delay)
        self._activity.set()

    async def _after_claiming(self, asked: int, got: int, wakes_before: int) -> None:
        """A full batch: there may well be more, look again at once. Fewer than asked: none
        was left when we looked, so sleep until the next job falls due (or a wake-up)."""
        if got >= asked:
            self._maybe_ready = True
            return
        if self._wakes == wakes_before:
            self._maybe_ready = False
        # Busy: asking when the next job falls due would cost a round trip per chain step,
        # and wake-ups (new jobs, and the scheduler's for delayed ones falling due) and the
        # poll keep us informed. Unless the due time we knew was just spent: later ones may
        # be known only to the database.
        if not self._maybe_ready and (self._replan or not self._tasks):
            await self._plan_sleep()

    async def _flush_reports(
        self,
        batch: list[msgspec.Raw],
        limit: int,
        top_up: bool,
        wakes_before: int,
        resources: Resources,
    ) -> None:
        """Report finished steps and, in the same round trip, take up to `limit` steps of new
        work (first the steps our reports made ready, then, if `top_up`, due jobs)."""
        outcomes, claims = await self._reconciled(
            "report_steps",
            functools.partial(
                self._held_().run,
                functools.partial(
                    store.report_steps,
                    worker=self.id,
                    reports=batch,
                    queues=self._queues,
                    limit=limit,
                    lease_ms=self.config.lease_ms,
                    top_up=top_up,
                ),
            ),
            resources,
        )
        for outcome in outcomes:
            if outcome.result not in ("ok", "duplicate"):
                log.info("step.report_rejected", step_id=outcome.step_id, result=outcome.result)
        if top_up:
            await self._after_claiming(limit, len(claims), wakes_before)
        elif limit > 0 and len(claims) >= limit:
            self._maybe_ready = True  # our hand-offs filled it: the rest went to the job table

    async def _reconciled(
        self,
        what: str,
        call: Callable[[], Awaitable[R]],
        resources: Resources,
    ) -> R:
        """Run a call that may lease steps to us (claim, report), starting the steps it
        returns. If it had to be retried, the first try may have committed and leased steps
        whose answer we never got: once no other call is in flight (their answers name
        steps we do not know yet), every step leased to us that we do not know goes back."""
        uncertain = False

        def mark_uncertain() -> None:
            nonlocal uncertain
            uncertain = True

        result = await self._db(what, call, on_retry=mark_uncertain)
        self._start(_claims_in(result), resources)
        if uncertain:
            self._reconcile = True
        return result

    async def _release_unknown(self) -> None:
        self._reconcile = False
        known = self._known_step_ids()
        released = await self._db(
            "release_unknown_steps",
            functools.partial(store.release_unknown_steps, self._pool_(), self.id, known),
        )
        if released:
            log.info("worker.released_unknown", count=released)
            self._maybe_ready = True

    def _known_step_ids(self) -> list[int]:
        """Steps this worker holds: running, with a report waiting, or waiting to go back."""
        known = set(self._tasks)
        known.update(self._reports)
        known.update(claim.step_id for claim in self._to_release)
        return sorted(known)

    async def _release(self) -> None:
        batch, self._to_release = self._to_release, []
        await self._db(
            "release_steps",
            lambda: store.release_steps(
                self._pool_(), self.id, [c.step_id for c in batch], [c.lease_token for c in batch]
            ),
        )
        log.info("worker.handed_back", count=len(batch))

    # -- steps ------------------------------------------------------------------------------

    def _start(self, claims: list[StepClaim], resources: Resources) -> None:
        for claim in claims:
            task = asyncio.create_task(self._run_step(claim, resources))
            self._tasks[claim.step_id] = (claim, task)

    async def _run_step(self, claim: StepClaim, resources: Resources) -> None:
        try:
            report = await run_step(claim, self.registry, resources, self.config.max_output_bytes)
        except asyncio.CancelledError:
            if claim.step_id not in self._lost:
                self._to_release.append(claim)
        else:
            self._reports[claim.step_id] = report
            self._report_executions.add(claim.execution_id)
            self.steps_run += 1
        finally:
            self._tasks.pop(claim.step_id, None)
            self._lost.discard(claim.step_id)
            self._activity.set()

    # -- background duties ------------------------------------------------------------------

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self.config.heartbeat_seconds)
            # Also when idle: the call refreshes this worker's row (workers.last_seen_at).
            running = [claim for claim, _ in self._tasks.values()]
            try:
                gone = await store.heartbeat(
                    self._pool_(),
                    self.id,
                    [c.step_id for c in running],
                    [c.lease_token for c in running],
                    self.config.lease_ms,
                )
            except (*TRANSIENT_ERRORS, asyncpg.PostgresError) as exc:  # type: ignore[misc]
                log.warning("worker.heartbeat_failed", error=describe(exc))
                continue
            for step_id in gone:
                entry = self._tasks.get(step_id)
                if entry is not None:
                    log.info("step.lease_lost", step_id=step_id, node=entry[0].node_id)
                    self._lost.add(step_id)
                    entry[1].cancel()

    async def _peer_counts(self) -> None:
        """Keep the count of peers current: at start, whenever a worker joins or leaves one
        of our queues (they announce it), and every heartbeat interval (a worker that died
        announced nothing; it counts until a lease's time has passed without a heartbeat)."""
        while True:
            self._peers_changed.clear()
            try:
                peers = await store.worker_peers(
                    self._pool_(), self.id, self._queues, self.config.lease_ms
                )
            except (*TRANSIENT_ERRORS, asyncpg.PostgresError) as exc:  # type: ignore[misc]
                log.warning("worker.peer_count_failed", error=describe(exc))
            else:
                if peers != self._peers:
                    self._peers = peers
                    log.info("worker.peers", peers=peers, pipeline=self._pipeline)
                    self._activity.set()
            await _wait_for_event(self._peers_changed, self.config.heartbeat_seconds)

    @property
    def _pipeline(self) -> int:
        """Round trips in flight: as configured, else two for a lone worker (the database
        works on one batch while this process runs the other) and one with peers (theirs keep
        the database busy; a second round trip would only halve every batch: two worker
        processes on two cores drained faster with one each)."""
        if self.config.pipeline is not None:
            return self.config.pipeline
        return 2 if self._peers == 0 else 1

    async def _rescues(self) -> None:
        if self.config.rescue_seconds <= 0:
            return
        while True:
            await asyncio.sleep(self.config.rescue_seconds)
            try:
                rescued = await store.rescue_expired_leases(self._pool_())
            except (*TRANSIENT_ERRORS, asyncpg.PostgresError) as exc:  # type: ignore[misc]
                log.warning("worker.rescue_failed", error=describe(exc))
                continue
            if rescued:
                log.info("worker.rescued_expired_leases", count=rescued)

    # -- plumbing ---------------------------------------------------------------------------

    def _pool_(self) -> asyncpg.Pool[Any]:
        assert self._pool is not None
        return self._pool

    def _held_(self) -> HeldConnections:
        assert self._held is not None
        return self._held

    async def _db(
        self,
        what: str,
        call: Callable[[], Awaitable[T]],
        on_retry: Callable[[], None] = lambda: None,
    ) -> T:
        # Once stopping and past the grace period, give up on a database that does not
        # answer: the loop fails and the worker exits instead of retrying forever.
        return await retry_transient(what, call, on_retry=on_retry, give_up=self._past_grace)

    def _past_grace(self) -> bool:
        return self._stopping and time.monotonic() >= self._grace_deadline
