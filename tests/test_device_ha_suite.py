"""Home Assistant's own English tests for the device intents we implement, with HA's test fixtures
(entities and areas of _fixtures.yaml) loaded into our entity registry. Runs in dry-run mode."""

from __future__ import annotations

import yaml

from devices.entities import Entity
from devices.hub import DeviceHub
from devices.settings import DevicesSettings, HomeAssistantSettings, MqttSettings
from tests.ha_suite import HA_TESTS, run

DEVICE_INTENTS = {
    "HassTurnOn",
    "HassTurnOff",
    "HassLightSet",
    "HassClimateSetTemperature",
    "HassClimateGetTemperature",
    "HassGetState",
    "HassVacuumStart",
}
# Measured: 378 of 537 pass (misses: floors, which we do not model yet; HA's old "name: all" fan cases).
FLOOR = 370


def fixture_hub() -> DeviceHub:
    data = yaml.safe_load((HA_TESTS / "_fixtures.yaml").read_text())
    areas = {a["id"]: a["name"] for a in data.get("areas", [])}
    hub = DeviceHub.from_settings(MqttSettings(), HomeAssistantSettings(), DevicesSettings())
    for ent in data.get("entities", []):
        domain = ent["id"].split(".", 1)[0]
        attrs = dict(ent.get("attributes") or {})
        hub.registry.add(
            Entity(
                entity_id=ent["id"],
                name=ent["name"],
                component=domain,
                source="homeassistant",
                area=areas.get(ent.get("area")),
                device_class=attrs.get("device_class"),
                state=None if ent.get("state") is None else str(ent["state"]),
                attributes=attrs,
            )
        )
    return hub


def test_home_assistant_device_tests(make_assistant, capsys):
    assistant = make_assistant()
    assistant.use_devices(fixture_hub())

    def ask(sentence: str, context: dict) -> dict:
        r = assistant.ask(sentence, dry_run=True, area=context.get("area"))
        return {"intent": r.intent, "slots": r.slots}

    result = run(ask, DEVICE_INTENTS, with_context=True)
    with capsys.disabled():
        print(f"\nHA device intent tests: {result.passed}/{result.total} passed")
    assert result.total > 500
    assert result.passed >= FLOOR, [f for f in result.failed[:20]]
