"""Home Assistant REST backend (homeassistant-api ``Client``): states, areas, service calls, and the names of
its to-do lists (``todo.*``, used by devices/todo.py)."""

from __future__ import annotations

import logging
from typing import Any

from homeassistant_api import Client
from homeassistant_api.errors import HomeassistantAPIError, UnauthorizedError

from devices.entities import Entity, EntityRegistry
from devices.settings import HomeAssistantSettings

log = logging.getLogger(__name__)

SUPPORTED_DOMAINS = {"light", "switch", "fan", "cover", "lock", "climate", "vacuum", "sensor", "binary_sensor",
                     "alarm_control_panel"}
# Renders "entity_id<TAB>area" lines; area_name() exists in HA templates since 2021.
AREA_TEMPLATE = "{% for s in states %}{{ s.entity_id }}\t{{ area_name(s.entity_id) or '' }}\n{% endfor %}"


class HomeAssistantError(RuntimeError):
    """Home Assistant could not be used; the message says what to do."""


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

    def __init__(self, settings: HomeAssistantSettings, registry: EntityRegistry):
        if not settings.url or not settings.token:
            raise HomeAssistantError("Home Assistant not configured: set homeassistant.url and homeassistant.token")
        self.settings = settings
        self.registry = registry
        self.api_url = settings.url.rstrip("/") + "/api"
        self.client = Client(self.api_url, settings.token, verify_ssl=settings.verify_ssl,
                             global_request_kwargs={"timeout": settings.timeout})
        self.areas_from_ha = False
        self.todo_lists: dict[str, str] = {}  # todo entity_id -> friendly name, from the last load()

    def _explain(self, e: Exception) -> HomeAssistantError:
        if isinstance(e, UnauthorizedError):
            return HomeAssistantError(f"Home Assistant at {self.settings.url} rejected the token (401): create a new "
                                      "long-lived access token and set homeassistant.token")
        return HomeAssistantError(f"Home Assistant at {self.settings.url} failed: {type(e).__name__}: {e} "
                                  "(check homeassistant.url, that HA is running and reachable)")

    def check(self) -> None:
        """Raise HomeAssistantError unless ``GET /api/`` says the API is running."""
        try:
            ok = self.client.check_api_running()
        except Exception as e:  # noqa: BLE001 - niquests/urllib3-future raise many types
            raise self._explain(e) from e
        if not ok:
            raise HomeAssistantError(f"{self.api_url}/ did not answer 'API running.'; is this Home Assistant?")

    def fetch_areas(self) -> dict[str, str]:
        """entity_id -> area name via ``POST /api/template``; falls back to ``settings.areas``."""
        areas = dict(self.settings.areas)
        try:
            text = self.client.get_rendered_template(AREA_TEMPLATE)
        except Exception as e:  # noqa: BLE001
            log.info("Home Assistant areas unavailable via /api/template (%s); using homeassistant.areas", e)
            return areas
        self.areas_from_ha = True
        for line in str(text).splitlines():
            ent, _, area = line.partition("\t")
            if ent.strip() and area.strip() and ent.strip() not in self.settings.areas:
                areas[ent.strip()] = area.strip()
        return areas

    def load(self) -> list[Entity]:
        """Read all states (``GET /api/states``) and add supported ones to the registry."""
        try:
            states = self.client.get_states()
        except Exception as e:  # noqa: BLE001
            raise self._explain(e) from e
        areas = self.fetch_areas()
        seen = []
        self.todo_lists = {st.entity_id: st.attributes.get("friendly_name") or st.entity_id.split(".", 1)[1].replace("_", " ")
                           for st in states if st.entity_id.startswith("todo.")}
        for st in states:
            domain = st.entity_id.split(".", 1)[0]
            if domain not in SUPPORTED_DOMAINS:
                continue
            attrs = dict(st.attributes)
            name = attrs.pop("friendly_name", None) or st.entity_id.split(".", 1)[1].replace("_", " ")
            ent = Entity(
                entity_id=st.entity_id, name=name, component=domain, source="homeassistant",
                area=areas.get(st.entity_id), device_class=attrs.get("device_class"),
                state=st.state, attributes=attrs, capabilities=_capabilities(domain, attrs),
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
