"""Smart-home devices: on/off, lights, thermostats, state questions, vacuums.

Modules: ``words`` (the words of device requests), ``targets`` (what a request is about),
``commands`` (doing it, with confirmation), ``intents`` (the intents).

Home Assistant's intent and slot names (HassTurnOn/Off: name, area, floor, domain, device_class; HassLightSet:
brightness, color, temperature; HassClimateSetTemperature: temperature; HassGetState: state). HA's own
templates are merged with ours (``sentences/en/devices.yaml``). The ``name`` slot comes either from the
exact name list (device names and aliases, each with a ``domain`` context so HA's ``requires_context``
checks work) or from our wildcard templates, resolved fuzzily here ("living room lamb").

The handlers use ``ctx.services.devices`` (``devices.hub.DeviceHub``). Commands on locks, garage
doors and alarm panels ask "Are you sure?" (an ``intents.pending`` question kept with the conversation,
so one-shot ``assistant ask`` processes share it); it expires after 30 s.
"""

from . import commands, intents  # noqa: F401 - registers the continuation and the intents
