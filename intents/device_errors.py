"""What to say when devices/ refuses a command (a typed ``DeviceError``: problem, device, data)."""

from __future__ import annotations

from devices.control import DeviceError

# the control operation -> what cannot be done to the device ("cannot be turned on")
DONE = {
    "turn_on": "turned on",
    "turn_off": "turned off",
    "set_light": "dimmed or coloured",
    "set_temperature": "set to a temperature",
    "open": "opened",
    "close": "closed",
    "stop": "stopped",
    "set_position": "positioned",
    "lock": "locked",
    "unlock": "unlocked",
    "start": "started",
    "return_home": "sent home",
}


def say_device_error(e: DeviceError) -> str:
    """One sentence for a refused device command."""
    name, d = e.device, e.data
    match e.problem:
        case "both_brightnesses":
            return "give either brightness_pct or brightness_step_pct, not both"
        case "no_brightness":
            return f"{name} cannot be dimmed (no brightness support)"
        case "no_colour":
            return f"{name} cannot change colour"
        case "unknown_colour":
            colour = d.get("colour")
            if isinstance(colour, (tuple, list)):
                return f"rgb colour must be three integers 0-255, got {colour!r}"
            return f"unknown colour {colour!r}; use a CSS colour name such as 'blue' or 'dark orange', or '#rrggbb'"
        case "no_white_temperature":
            return f"{name} has no adjustable white temperature"
        case "nothing_to_set":
            return "set_light needs brightness_pct, brightness_step_pct, color or color_temp_kelvin"
        case "temperature_out_of_range":
            return f"{name} accepts {d.get('low')} to {d.get('high')} degrees, not {d.get('value')}"
        case "no_position":
            return f"{name} cannot be set to a position, only opened or closed"
        case "nothing_in_area":
            return (
                f"no {d.get('component') or 'lights, switches or fans'} found in {d.get('area')!r}; known areas: "
                f"{', '.join(d.get('known') or []) or 'none'}"
            )
        case "unknown_device":
            return f"unknown device {name!r}"
        case "not_exposed":
            return f"{name} ({d.get('entity_id')}) is not exposed to the assistant (see devices.exposure)"
        case "wrong_component":
            return f"{name} is a {d.get('component')} and cannot be {DONE.get(d.get('op', ''), d.get('op'))}"
        case "looks_like_security":
            return (
                f"I won't {str(d.get('op', '')).replace('_', ' ')} the {name}: its MQTT command looks like it "
                "drives a lock, door or alarm. Declare it in devices.devices if it is safe."
            )
        case "no_topic":
            return f"{name} has no {d.get('key')} configured, so it cannot do '{d.get('op')}'"
        case "not_controllable":
            return f"{name} ({d.get('component')}) cannot be controlled"
    return f"I can't do that with {name or 'that device'}."
