"""Few-shot examples for the LLM tier: our own sentences, written from what each intent does (none
from SLURP or any test set), each with the call a model should write for it.

``EXAMPLES`` go with the full tool list (a few calls and what no tool does). ``TOOL_EXAMPLES`` has one
per intent: when the tier offers only the few tools the learned tier ranks highest
(``llm.tools_top_k``), the prompt shows the example of each offered tool, then ``NO_CALL``.
"""

from __future__ import annotations

from typing import Any

Call = tuple[str, dict[str, Any]]

NO_CALL: list[tuple[str, list[Call]]] = [
    ("put a dentist appointment in my calendar", []),
    ("let's play twenty questions", []),
    ("who won the match last night", []),
]

EXAMPLES: list[tuple[str, list[Call]]] = [
    ("keep an eye on the pasta for twelve minutes", [("HassStartTimer", {"minutes": 12, "name": "pasta"})]),
    ("it's too dark in the bedroom", [("HassTurnOn", {"area": "bedroom", "domain": "light"})]),
    ("make the music a bit louder", [("HassSetVolumeRelative", {"volume_step": "up"})]),
    ("get me up at half past six", [("SetAlarm", {"time": "06:30"})]),
    *NO_CALL,
]

TOOL_EXAMPLES: dict[str, tuple[str, dict[str, Any]]] = {
    "HassStartTimer": ("keep an eye on the pasta for twelve minutes", {"minutes": 12, "name": "pasta"}),
    "HassCancelTimer": ("never mind the pasta timer", {"name": "pasta"}),
    "HassCancelAllTimers": ("get rid of every timer", {}),
    "HassIncreaseTimer": ("give the rice timer three more minutes", {"name": "rice", "minutes": 3}),
    "HassDecreaseTimer": ("take two minutes off the timer", {"minutes": 2}),
    "HassPauseTimer": ("hold the timer for a moment", {}),
    "HassUnpauseTimer": ("let the timer run again", {}),
    "HassTimerStatus": ("how long is left on the bread", {"name": "bread"}),
    "SetAlarm": ("get me up at half past six", {"time": "06:30"}),
    "ListAlarms": ("when will you wake me tomorrow", {"date": "tomorrow"}),
    "CancelAlarm": ("drop the seven o'clock alarm", {"time": "7:00"}),
    "SnoozeAlarm": ("ten more minutes please", {"minutes": 10}),
    "StopAlarm": ("enough ringing, i'm up", {}),
    "HassGetCurrentTime": ("what hour is it in tokyo", {"location": "tokyo"}),
    "HassGetCurrentDate": ("which weekday is the fourth of july", {"date": "july 4"}),
    "HassMediaSearchAndPlay": ("i'm in the mood for some bossa nova", {"search_query": "bossa nova"}),
    "HassMediaPause": ("hold the song", {}),
    "HassMediaUnpause": ("carry on with the album", {}),
    "HassMediaNext": ("not this one, the one after", {}),
    "HassMediaPrevious": ("go back a track", {}),
    "HassSetVolume": ("music at forty percent", {"volume_level": 40}),
    "HassSetVolumeRelative": ("make the music a bit louder", {"volume_step": "up"}),
    "HassMediaPlayerMute": ("silence the speaker", {}),
    "HassMediaPlayerUnmute": ("bring the sound back", {}),
    "MediaWhatsPlaying": ("who sings this", {}),
    "HassGetWeather": ("will i need a coat in oslo on friday", {"location": "oslo", "date": "friday"}),
    "HassTurnOn": ("it's too dark in the bedroom", {"area": "bedroom", "domain": "light"}),
    "HassTurnOff": ("kill the fan in the office", {"area": "office", "domain": "fan"}),
    "HassVacuumStart": ("let the robot tidy the floor", {"domain": "vacuum"}),
    "HassLightSet": ("the lounge lights in green", {"area": "lounge", "color": "green"}),
    "HassClimateSetTemperature": ("warm the house to twenty two", {"temperature": 22}),
    "HassClimateGetTemperature": ("how warm is it in here", {}),
    "HassGetState": ("did i leave the porch light on", {"name": "porch light"}),
    "SetReminder": (
        "don't let me forget to water the plants at five pm",
        {"message": "water the plants", "time": "17:00"},
    ),
    "ListReminders": ("what did i ask you to remind me about today", {"date": "today"}),
    "CancelReminder": ("forget the plant reminder", {"name": "plant"}),
    "HassListAddItem": ("we are out of lemons", {"name": "shopping", "item": ["lemons"]}),
    "HassListCompleteItem": ("i bought the lemons", {"name": "shopping", "item": ["lemons"]}),
    "HassListRemoveItem": ("scratch lemons off the list", {"name": "shopping", "item": ["lemons"]}),
    "GetListItems": ("read me the groceries", {"name": "shopping"}),
    "GetHelp": ("what sort of things can you do", {}),
    "SetPreference": ("i'm a big fan of reggae", {"key": "music", "value": "reggae"}),
    "ForgetPreferences": ("stop remembering my city", {"key": "city"}),
    "ListPreferences": ("what have you learned about me", {}),
}
