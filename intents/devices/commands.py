"""Doing it: a command on every target entity (``run_command``), with "Are you sure?" first where
the device layer requires a confirmation (an ``intents.pending`` question; "yes" runs ``devices.run``)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..conversation import Question
from ..device_errors import say_device_error
from ..pending import continuation
from ..schema import Context, Outcome
from .targets import Target, hub_of
from .words import FUTURE, PAST, spoken

if TYPE_CHECKING:
    from devices.entities import Entity

log = logging.getLogger(__name__)

CONFIRM_TTL_S = 30.0  # a "yes" later than this is no answer to "Are you sure?"


def command_of(op: str, entity: Entity) -> str:
    """The command ``op`` means for this entity (devices.control.ON_OFF): the key of PAST/FUTURE."""
    from devices.control import command_for

    return command_for(entity.component, op)


def run_command(ctx: Context, op: str, target: Target, confirmed: bool = False) -> Outcome:
    """Carry ``op`` out on every target entity; ask first where a confirmation is needed."""
    from devices.control import ConfirmationRequired, DeviceError

    hub = hub_of(ctx)
    if hub is None:  # no devices, so no targets (a "yes" after the hub went away)
        return Outcome("Nothing to do.")
    ask: list[Entity] = []
    problems: list[str] = []
    issued: list[tuple[Entity, list[dict[str, Any]]]] = []
    with hub.controller.together():  # sent at the end of the block, all at once
        for e in target.entities:
            try:
                issued.append((e, hub.controller.command(e, op, dry_run=ctx.dry_run, confirmed=confirmed)))
            except ConfirmationRequired:
                ask.append(e)
            except DeviceError as exc:
                problems.append(say_device_error(exc))
    actions, done, queued, failures = settle(
        issued, ctx, lambda e: f"{FUTURE[command_of(op, e)]} the {spoken(e)}"
    )
    problems += failures
    words = []
    question = None
    if done:
        verb = command_of(op, done[0])
        sub = Target(done, target.area if len(done) == len(target.entities) else None, target.domain)
        words.append(f"{'Would ' + FUTURE[verb] if ctx.dry_run else PAST[verb]} {sub.describe()}.")
    if queued:
        verb = command_of(op, queued[0])
        words.append(
            f"The MQTT broker is offline: I will {FUTURE[verb]} {Target(queued).describe()} "
            "as soon as it is back."
        )
    if ask:
        verb = command_of(op, ask[0])
        what = " and ".join(f"the {spoken(e)}" for e in ask)
        if ctx.dry_run:
            words.append(f"I would ask for a confirmation before I {FUTURE[verb]} {what}.")
        else:
            words.append(f"Are you sure you want to {FUTURE[verb]} {what}?")
            question = Question(
                words[-1],
                "confirm",
                "devices.run",
                {"op": op, "entities": [e.entity_id for e in ask]},
                declined=f"Okay, I won't {FUTURE[verb]} {what}.",
                ttl_s=CONFIRM_TTL_S,
            )
        actions.append(
            {
                "type": "confirmation_required",
                "entity_ids": [e.entity_id for e in ask],
                "operation": verb,
                "sent": False,
            }
        )
    words += problems[:2]
    return Outcome(" ".join(words) or "Nothing to do.", actions, question=question)


def undelivered(actions: list[dict[str, Any]], ctx: Context) -> str | None:
    """Why a command was not carried out (not sent, not queued), or None when it was (or dry run)."""
    if ctx.dry_run:
        return None
    for a in actions:
        if a.get("sent") is False and not a.get("queued"):
            return str(a.get("reason") or "it was not sent").rstrip(".")
    return None


def settle(
    issued: list[tuple[Entity, list[dict[str, Any]]]], ctx: Context, could_not: Callable[[Entity], str]
) -> tuple[list[dict[str, Any]], list[Entity], list[Entity], list[str]]:
    """Sort commands sent to entities by what became of them: (all actions, entities done, entities
    whose command waits in the offline queue, one "I could not <could_not(e)>: why." per failure)."""
    actions: list[dict[str, Any]] = []
    done: list[Entity] = []
    queued: list[Entity] = []
    problems: list[str] = []
    for e, acts in issued:
        actions += acts
        failed = undelivered(acts, ctx)
        if failed:
            problems.append(f"I could not {could_not(e)}: {failed}.")
        elif any(a.get("queued") for a in acts):
            queued.append(e)
        else:
            done.append(e)
    return actions, done, queued, problems


@continuation("devices.run")
def _confirmed(ctx: Context, data: dict[str, Any]) -> Outcome:
    """ "Yes" to "Are you sure?", or the device picked after "Which one do you mean?": carry the command
    out on the entities that still exist."""
    hub = hub_of(ctx)
    ents = [e for e in (hub.registry.get(i) for i in data["entities"]) if e is not None] if hub else []
    if not ents:
        return Outcome("That device is gone, so I did nothing.")
    return run_command(ctx, data["op"], Target(ents), confirmed=data.get("confirmed", True))
