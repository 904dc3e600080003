"""Home Assistant REST backend (homeassistant-api ``Client``): states, areas, service calls, and the names of
its to-do lists (``todo.*``, used by devices/todo.py).

One ``POST /api/template`` also tells, per entity, its area and whether it comes from HA's MQTT
integration (with the MQTT device identifiers): so an MQTT-discovered device HA also exposes is
known once (``twin_of``), and our own MQTT-published device (``own_device_ids``) is not loaded.
"""

from __future__ import annotations

import json
import logging
from typing import Any, get_args

from homeassistant_api import Client
from homeassistant_api.errors import HomeassistantAPIError, UnauthorizedError

from devices.entities import Entity, EntityRegistry
from devices.settings import Component, HomeAssistantSettings

log = logging.getLogger(__name__)

SUPPORTED_DOMAINS = frozenset(get_args(Component))  # the components we can drive
# Renders a JSON list of [entity_id, area, from the MQTT integration, MQTT device identifiers];
# area_name(), device_attr() and integration_entities() exist in HA templates since 2021.
ENTITY_TEMPLATE = (
    "{%- set mqtt = integration_entities('mqtt') -%}{%- set ns = namespace(rows=[]) -%}"
    "{%- for s in states -%}{%- set ids = device_attr(s.entity_id, 'identifiers') or [] -%}"
    "{%- set ns.rows = ns.rows + [[s.entity_id, area_name(s.entity_id) or '', s.entity_id in mqtt,"
    " ids | selectattr(0, 'eq', 'mqtt') | map(attribute=1) | list]] -%}"
    "{%- endfor -%}{{ ns.rows | to_json }}"
)


class HomeAssistantError(RuntimeError):
    """Home Assistant could not be used; the message says what to do."""


class HomeAssistantAuthError(HomeAssistantError):
    """Home Assistant refused the access token (HTTP 401)."""


def _capabilities(domain: str, attrs: dict[str, Any]) -> set[str]:
    caps: set[str] = set()
    if domain in ("light", "switch", "fan", "climate", "vacuum"):
        caps.add("on_off")
    if domain == "light":
        modes = set(attrs.get("supported_color_modes") or [])
        if modes - {"onoff"}:
            caps.add("brightness")
        if modes & {"rgb", "rgbw", "rgbww", "hs", "xy"}:
            caps.add("color")
        if "color_temp" in modes:
            caps.add("color_temp")
    if domain == "cover":
        caps.add("open_close")
        if "current_position" in attrs:
            caps.add("position")
    if domain == "lock":
        caps.add("lock")
    if domain == "climate":
        caps.add("target_temperature")
    if domain == "fan" and "percentage" in attrs:
        caps.add("percentage")
    if domain == "vacuum":
        caps.add("start")
    return caps


class HomeAssistantBackend:
    """Loads HA entities into the registry and calls HA services."""

    def __init__(
        self,
        settings: HomeAssistantSettings,
        registry: EntityRegistry,
        own_device_ids: frozenset[str] = frozenset(),
    ):
        if not settings.url or not settings.token:
            raise HomeAssistantError(
                "Home Assistant not configured: set home_assistant.url and home_assistant.token"
            )
        self.settings = settings
        self.registry = registry
        self.own_device_ids = own_device_ids
        self.mqtt_entities: dict[
            str, frozenset[str]
        ] = {}  # HA entity from HA's MQTT integration -> device ids
        self.api_url = settings.url.rstrip("/") + "/api"
        self.client = Client(
            self.api_url,
            settings.token,
            verify_ssl=settings.verify_ssl,
            global_request_kwargs={"timeout": settings.timeout},
        )
        self.areas_from_ha = False
        self.todo_lists: dict[str, str] = {}  # todo entity_id -> friendly name, from the last load()

    def _explain(self, e: Exception) -> HomeAssistantError:
        if isinstance(e, UnauthorizedError):
            return HomeAssistantAuthError(
                f"Home Assistant at {self.settings.url} rejected the token (401): create a new long-lived access "
                "token (Home Assistant: Profile -> Security) and set home_assistant.token"
            )
        return HomeAssistantError(
            f"Home Assistant at {self.settings.url} failed: {type(e).__name__}: {e} "
            "(check home_assistant.url, that HA is running and reachable)"
        )

    def check(self) -> None:
        """Raise HomeAssistantError unless ``GET /api/`` says the API is running."""
        try:
            ok = self.client.check_api_running()
        except Exception as e:  # noqa: BLE001 - niquests/urllib3-future raise many types
            raise self._explain(e) from e
        if not ok:
            raise HomeAssistantError(
                f"{self.api_url}/ did not answer 'API running.'; is this Home Assistant?"
            )

    def fetch_areas(self) -> dict[str, str]:
        """entity_id -> area name via ``POST /api/template`` (which also fills ``mqtt_entities``);
        falls back to ``settings.areas``."""
        areas = dict(self.settings.areas)
        try:
            rows = json.loads(str(self.client.get_rendered_template(ENTITY_TEMPLATE)))
        except Exception as e:  # noqa: BLE001 - an old HA, a proxy, a template error: areas from the config
            log.info("Home Assistant areas unavailable via /api/template (%s); using home_assistant.areas", e)
            return areas
        self.areas_from_ha = True
        self.mqtt_entities = {}
        for entity_id, area, from_mqtt, device_ids in rows:
            if area and entity_id not in self.settings.areas:
                areas[entity_id] = area
            if from_mqtt or device_ids:
                self.mqtt_entities[entity_id] = frozenset(map(str, device_ids))
        return areas

    def twin_of(self, component: str, device_ids: frozenset[str], names: list[str]) -> str | None:
        """The HA entity that is this MQTT-discovered entity (same component and MQTT device, or, for
        a device with several such entities or none, the same name), or None."""
        from devices.names import plain_key

        same = [
            eid
            for eid, ids in self.mqtt_entities.items()
            if eid.split(".", 1)[0] == component and (ids & device_ids if device_ids else not ids)
        ]
        if device_ids and len(same) == 1:
            return same[0]
        wanted = {plain_key(n) for n in names if n}
        for eid in same:
            e = self.registry.get(eid)
            if e is not None and (
                plain_key(e.name) in wanted or any(plain_key(e.name).endswith(" " + w) for w in wanted)
            ):
                return eid
        return None

    def load(self) -> list[Entity]:
        """Read all states (``GET /api/states``) and add supported ones to the registry."""
        try:
            states = self.client.get_states()
        except Exception as e:  # noqa: BLE001
            raise self._explain(e) from e
        areas = self.fetch_areas()
        seen = []
        self.todo_lists = {
            st.entity_id: st.attributes.get("friendly_name")
            or st.entity_id.split(".", 1)[1].replace("_", " ")
            for st in states
            if st.entity_id.startswith("todo.")
        }
        for st in states:
            domain = st.entity_id.split(".", 1)[0]
            if domain not in SUPPORTED_DOMAINS:
                continue
            if self.mqtt_entities.get(st.entity_id, frozenset()) & self.own_device_ids:
                continue  # our own Mute switch and sensors, published to HA by MQTT discovery
            attrs = dict(st.attributes)
            name = attrs.pop("friendly_name", None) or st.entity_id.split(".", 1)[1].replace("_", " ")
            ent = Entity(
                entity_id=st.entity_id,
                name=name,
                component=domain,
                source="homeassistant",
                area=areas.get(st.entity_id),
                device_class=attrs.get("device_class"),
                state=st.state,
                attributes=attrs,
                capabilities=_capabilities(domain, attrs),
                available=st.state != "unavailable",
            )
            seen.append(self.registry.add(ent))
        log.info("Home Assistant: loaded %d entities from %s", len(seen), self.settings.url)
        return seen

    def refresh(self, entity_id: str) -> Entity | None:
        """Re-read one entity's state (``GET /api/states/<id>``)."""
        try:
            st = self.client.get_state(entity_id=entity_id)
        except Exception as e:  # noqa: BLE001
            raise self._explain(e) from e
        attrs = dict(st.attributes)
        attrs.pop("friendly_name", None)
        return self.registry.update(entity_id, state=st.state, attributes=attrs)

    def call_service(self, domain: str, service: str, data: dict[str, Any]) -> list[str]:
        """``POST /api/services/<domain>/<service>``; updates changed states; returns changed entity ids."""
        try:
            changed = self.client.trigger_service(domain, service, **data)
        except HomeassistantAPIError as e:
            raise self._explain(e) from e
        except Exception as e:  # noqa: BLE001
            raise self._explain(e) from e
        ids = []
        for st in changed:
            attrs = dict(st.attributes)
            attrs.pop("friendly_name", None)
            if self.registry.update(st.entity_id, state=st.state, attributes=attrs) is not None:
                ids.append(st.entity_id)
        return ids

    def call_service_with_response(self, domain: str, service: str, data: dict[str, Any]) -> dict[str, Any]:
        """``POST /api/services/<domain>/<service>?return_response`` (e.g. ``todo.get_items``): the service's
        response, keyed by entity id."""
        try:
            return self.client.trigger_service_with_response(domain, service, **data)[1] or {}
        except Exception as e:  # noqa: BLE001
            raise self._explain(e) from e
