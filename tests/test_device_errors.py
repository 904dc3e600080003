"""Refused device commands: devices/ raises typed errors, intents/ words every one of them."""

from __future__ import annotations

from typing import get_args

import pytest

from devices.control import DeviceError, DeviceProblem
from intents.device_errors import say_device_error

DATA = {
    "low": 7,
    "high": 30,
    "value": 35,
    "area": "attic",
    "known": ["Office"],
    "component": "light",
    "op": "unlock",
}


@pytest.mark.parametrize("problem", get_args(DeviceProblem))
def test_every_problem_has_its_own_words(problem: str) -> None:
    said = say_device_error(DeviceError(problem, "Front Door", **DATA))
    assert said and not said.startswith("I can't do that with"), problem  # not the catch-all


def test_words_carry_the_data() -> None:
    assert (
        say_device_error(DeviceError("temperature_out_of_range", "Thermostat", low=7, high=30, value=35))
        == "Thermostat accepts 7 to 30 degrees, not 35"
    )
    assert say_device_error(DeviceError("wrong_component", "Fan", component="fan", op="set_light")) == (
        "Fan is a fan and cannot be dimmed or coloured"
    )
    assert say_device_error(DeviceError("nothing_in_area", area="attic", component=None, known=[])) == (
        "no lights, switches or fans found in 'attic'; known areas: none"
    )
    assert str(DeviceError("no_colour", "Lamp")) == "Lamp: no_colour"  # for logs: the device and the code
