"""Entities (one controllable or readable thing) and a thread-safe registry with fuzzy lookup."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from rapidfuzz import fuzz, process

from .names import NameKey, plain_key

log = logging.getLogger(__name__)

Source = Literal["mqtt", "config", "homeassistant"]
Listener = Callable[[str, "Entity"], None]  # (event: "added"|"updated"|"removed", entity)

CONTROLLABLE = {"light", "switch", "fan", "cover", "lock", "climate", "vacuum", "alarm_control_panel"}
# Who wins a name both claim: the user's own YAML over anything discovered (see ``search``).
SOURCE_RANK = {"config": 0, "homeassistant": 1, "mqtt": 1}


def slugify(text: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return s or "unnamed"


@dataclass
class Entity:
    """A device entity. ``attributes`` use HA names: brightness (0-255), rgb_color, color_temp_kelvin,
    current_temperature, temperature (target), current_position (0-100), percentage, ...
    ``backend`` is how to reach it (MQTT topics and payloads, for the mqtt and config sources): fixed
    when the entity is added, read-only in the registry (a ``MappingProxyType``), and shared by its copies."""

    entity_id: str
    name: str
    component: str
    source: Source
    aliases: list[str] = field(default_factory=list)
    area: str | None = None
    device_class: str | None = None
    state: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    capabilities: set[str] = field(default_factory=set)
    available: bool = True
    exposed: bool = True
    requires_confirmation: bool = False
    device_name: str | None = None
    backend: Mapping[str, Any] = field(default_factory=dict)  # MQTT topics/payloads (mqtt/config sources)

    @property
    def controllable(self) -> bool:
        return self.component in CONTROLLABLE

    def copy(self) -> Entity:
        """A copy the caller may change freely: every list, dict and set in it is new, but for the
        read-only ``backend``, which is shared. Made field by field: ``copy.deepcopy`` cost ~6 times as
        much, paid per entity by a command to hundreds."""
        new = object.__new__(Entity)
        new.__dict__.update(self.__dict__)
        new.aliases = list(self.aliases)
        new.attributes = _dup(self.attributes)
        new.capabilities = set(self.capabilities)
        return new


_CONTAINERS = (dict, list, set)


def _dup(value: Any) -> Any:
    """``value`` with its containers copied all the way down (JSON-like values: the rest is immutable)."""
    if isinstance(value, dict):
        return {k: _dup(v) if isinstance(v, _CONTAINERS) else v for k, v in value.items()}
    if isinstance(value, list):
        return [_dup(v) if isinstance(v, _CONTAINERS) else v for v in value]
    if isinstance(value, set):
        return set(value)
    return value


def _merge(
    e: Entity,
    state: str | None,
    attributes: dict[str, Any] | None,
    available: bool | None,
    replace_state: bool,
) -> bool:
    """Change ``e`` in place (the registry's own, under its lock); did anything change?"""
    changed = False
    if state is not None or replace_state:
        changed |= e.state != state
        e.state = state
    if attributes:
        for k, v in attributes.items():
            if e.attributes.get(k) != v:
                e.attributes[k] = v
                changed = True
    if available is not None and available != e.available:
        e.available = available
        changed = True
    return changed


@dataclass(frozen=True)
class StateChange:
    """A new state (None: unchanged) and attributes to merge, for ``EntityRegistry.update_states``."""

    entity_id: str
    state: str | None
    attributes: dict[str, Any] | None = None


@dataclass(frozen=True)
class Match:
    entity: Entity
    score: float
    matched: str


class EntityRegistry:
    """All known entities. Returned entities are copies (but for ``view``); change them through
    ``update``."""

    def __init__(
        self,
        is_exposed: Callable[[str], bool] | None = None,
        needs_confirmation: Callable[[str, str | None], bool] | None = None,
    ):
        self._lock = threading.RLock()
        self._entities: dict[str, Entity] = {}
        self._listeners: list[Listener] = []
        self._is_exposed = is_exposed
        self._needs_confirmation = needs_confirmation
        self._names: dict[NameKey, tuple[list[str], list[tuple[str, str]]]] = {}  # see _name_index

    # ---- changes -----------------------------------------------------------------------------
    def add(self, entity: Entity, *, confirmation_explicit: bool = False) -> Entity:
        """Add or replace an entity; applies exposure rules and the confirmation policy. Its ``backend``
        is copied and made read-only."""
        e = entity.copy()
        e.backend = MappingProxyType(_dup(dict(entity.backend)))
        if self._is_exposed is not None:
            e.exposed = self._is_exposed(e.entity_id)
        if not confirmation_explicit and self._needs_confirmation is not None:
            e.requires_confirmation = e.requires_confirmation or self._needs_confirmation(
                e.component, e.device_class
            )
        with self._lock:
            event = "updated" if e.entity_id in self._entities else "added"
            self._entities[e.entity_id] = e
            self._names.clear()
            out = e.copy()
        self._notify([out], event)
        return out

    def update(
        self,
        entity_id: str,
        *,
        state: str | None = None,
        attributes: dict[str, Any] | None = None,
        available: bool | None = None,
        replace_state: bool = False,
    ) -> Entity | None:
        """Merge new state/attributes; returns the updated copy or None if unknown."""
        with self._lock:
            e = self._entities.get(entity_id)
            if e is None:
                return None
            changed = _merge(e, state, attributes, available, replace_state)
            out = e.copy()
        if changed:
            self._notify([out])
        return out

    def update_states(self, changes: Iterable[StateChange]) -> None:
        """``update(entity_id, state=..., attributes=...)`` for many entities at once, under one lock:
        a command to hundreds of lights. Only the entities that changed are copied, for the listeners."""
        changed: list[Entity] = []
        with self._lock:
            for c in changes:
                e = self._entities.get(c.entity_id)
                if e is not None and _merge(e, c.state, c.attributes, None, False):
                    changed.append(e.copy())
        self._notify(changed)

    def remove(self, entity_id: str) -> bool:
        with self._lock:
            e = self._entities.pop(entity_id, None)
            self._names.clear()
        if e is not None:
            self._notify([e], "removed")
        return e is not None

    def add_listener(self, cb: Listener) -> None:
        with self._lock:
            self._listeners.append(cb)

    def remove_listener(self, cb: Listener) -> None:
        with self._lock:
            if cb in self._listeners:
                self._listeners.remove(cb)

    def _notify(self, entities: list[Entity], event: str = "updated") -> None:
        if not entities:
            return
        with self._lock:
            listeners = list(self._listeners)
        for entity in entities:
            for cb in listeners:
                try:
                    cb(event, entity)
                except Exception:  # noqa: BLE001
                    log.exception("entity listener failed on %s %s", event, entity.entity_id)

    # ---- queries -----------------------------------------------------------------------------
    def _name_index(self, key: NameKey) -> tuple[list[str], list[tuple[str, str]]]:
        """Every entity's names, aliases and "area name"s as ``key`` sees them, with (entity id, name):
        ``search`` scores them all in one rapidfuzz call (a Python loop over a flooded registry of
        1 000 entities cost ~10 ms per lookup). Built again after an entity is added or removed."""
        with self._lock:
            if key not in self._names:
                keys: list[str] = []
                owners: list[tuple[str, str]] = []
                for e in self._entities.values():
                    names = [e.name, *e.aliases]
                    if e.area:
                        names += [f"{e.area} {n}" for n in (e.name, *e.aliases)]
                    for n in names:
                        if nn := key(n):
                            keys.append(nn)
                            owners.append((e.entity_id, n))
                self._names[key] = (keys, owners)
            return self._names[key]

    def get(self, entity_id: str) -> Entity | None:
        with self._lock:
            e = self._entities.get(entity_id)
            return e.copy() if e else None

    def view(self, entity_id: str) -> Entity | None:
        """The registry's own entity, not a copy, for a caller inside devices/ that only reads it and
        hands none of it out (the controller, once per device of a command to hundreds). Its state
        and attributes may change under the reader, as the broker reports; the rest does not."""
        with self._lock:
            return self._entities.get(entity_id)

    def __contains__(self, entity_id: str) -> bool:
        with self._lock:
            return entity_id in self._entities

    def __len__(self) -> int:
        with self._lock:
            return len(self._entities)

    def all(self) -> list[Entity]:
        with self._lock:
            return [e.copy() for e in self._entities.values()]

    def exposed(self, components: Collection[str] | None = None) -> list[Entity]:
        """Exposed entities, optionally only of these components."""
        with self._lock:  # copy only what is returned: a flooded registry holds thousands
            return [
                e.copy()
                for e in self._entities.values()
                if e.exposed and (components is None or e.component in components)
            ]

    def areas(self) -> list[str]:
        """Distinct area names of exposed entities, sorted."""
        with self._lock:
            return sorted({e.area for e in self._entities.values() if e.exposed and e.area})

    def _area_match(
        self, area: str, candidates: Iterable[str], threshold: float, key: NameKey = plain_key
    ) -> str | None:
        best, best_score = None, 0.0
        na = key(area)
        for a in candidates:
            s = fuzz.ratio(na, key(a))
            if s > best_score:
                best, best_score = a, s
        return best if best_score >= threshold else None

    def in_area(self, area: str, component: str | None = None, threshold: float = 80) -> list[Entity]:
        """Exposed entities in ``area`` (fuzzy area name), optionally of one component."""
        real = self._area_match(area, self.areas(), threshold)
        if real is None:
            return []
        with self._lock:
            found = [
                e.copy()
                for e in self._entities.values()
                if e.exposed and e.area == real and (component is None or e.component == component)
            ]
        return sorted(found, key=lambda e: e.entity_id)

    def search(
        self,
        name: str,
        area: str | None = None,
        component: str | None = None,
        threshold: float = 80,
        exposed_only: bool = True,
        limit: int = 5,
        key: NameKey = plain_key,
    ) -> list[Match]:
        """Fuzzy matches by name/alias (also "area name" combinations), best first. ``key`` is how
        names are compared (devices/names.py): intents pass one that knows the spoken language."""
        query = key(name)
        if not query:
            return []
        # score every name first (one rapidfuzz call), then look only at the few that scored: a flooded
        # registry holds a thousand entities, and a request may look up twenty wildcard readings
        keys, owners = self._name_index(key)
        scored = process.extract(query, keys, scorer=fuzz.ratio, score_cutoff=threshold, limit=None)
        with self._lock:
            real = None
            if area:
                areas = {
                    e.area
                    for e in self._entities.values()
                    if e.area
                    and (e.exposed or not exposed_only)
                    and (not component or e.component == component)
                }
                real = self._area_match(area, areas, 80, key)
                if real is None:
                    return []
            wanted: dict[str, Entity] = {}
            # entity id -> (score, index of its best name: the first on ties)
            best: dict[str, tuple[float, int]] = {}
            for _, score, i in scored:
                eid = owners[i][0]
                e = wanted.get(eid) or self._entities.get(eid)
                if (
                    e is None
                    or (exposed_only and not e.exposed)
                    or (component and e.component != component)
                    or (area and e.area != real)
                ):
                    continue
                wanted[eid] = e
                if eid not in best or (score, -i) > (best[eid][0], -best[eid][1]):
                    best[eid] = (score, i)
            # equal scores: explicit config first (a discovered entity cannot take over a YAML name)
            ranked = sorted(
                best.items(), key=lambda b: (-b[1][0], SOURCE_RANK.get(wanted[b[0]].source, 1), b[0])
            )
            return [Match(wanted[eid].copy(), score, owners[i][1]) for eid, (score, i) in ranked[:limit]]

    def find(
        self,
        name: str,
        area: str | None = None,
        component: str | None = None,
        threshold: float = 80,
        key: NameKey = plain_key,
    ) -> Entity | None:
        """Best fuzzy match by name/alias, or None if nothing scores >= ``threshold`` (0-100)."""
        m = self.search(name, area=area, component=component, threshold=threshold, limit=1, key=key)
        return m[0].entity if m else None
