"""Words for weather conditions. Providers report a condition as a key (``devices.weather.models``:
"wmo:61", a WMO weather code from Open-Meteo, or a Home Assistant condition state such as
"partlycloudy"); ``condition_words`` says it."""

from __future__ import annotations

WMO_TEXT = {
    0: "clear sky",
    1: "mostly clear",
    2: "partly cloudy",
    3: "overcast",
    45: "fog",
    48: "freezing fog",
    51: "light drizzle",
    53: "drizzle",
    55: "heavy drizzle",
    56: "light freezing drizzle",
    57: "freezing drizzle",
    61: "light rain",
    63: "rain",
    65: "heavy rain",
    66: "light freezing rain",
    67: "freezing rain",
    71: "light snow",
    73: "snow",
    75: "heavy snow",
    77: "snow grains",
    80: "light rain showers",
    81: "rain showers",
    82: "violent rain showers",
    85: "light snow showers",
    86: "heavy snow showers",
    95: "thunderstorms",
    96: "thunderstorms with hail",
    99: "thunderstorms with heavy hail",
}
RAIN_CODES = {51, 53, 55, 56, 57, 61, 63, 65, 66, 67, 80, 81, 82, 95, 96, 99}
SNOW_CODES = {71, 73, 75, 77, 85, 86}

HA_TEXT = {
    "clear-night": "clear",
    "cloudy": "cloudy",
    "exceptional": "exceptional weather",
    "fog": "fog",
    "hail": "hail",
    "lightning": "thunderstorms",
    "lightning-rainy": "thunderstorms with rain",
    "partlycloudy": "partly cloudy",
    "pouring": "heavy rain",
    "rainy": "rain",
    "snowy": "snow",
    "snowy-rainy": "sleet",
    "sunny": "sunny",
    "windy": "windy",
    "windy-variant": "windy and cloudy",
}
HA_RAIN = {"rainy", "pouring", "lightning-rainy", "snowy-rainy", "hail"}
HA_SNOW = {"snowy", "snowy-rainy"}


def condition_words(key: str) -> str:
    """ "wmo:61" -> "light rain", "partlycloudy" -> "partly cloudy", "" -> ""."""
    if key.startswith("wmo:"):
        return WMO_TEXT.get(int(key[4:]), "unsettled weather")
    return HA_TEXT.get(key, key)


def is_rainy(text: str) -> bool:
    t = text.lower()
    return any(w in t for w in ("rain", "drizzle", "shower", "thunder", "sleet", "hail"))


def is_snowy(text: str) -> bool:
    t = text.lower()
    return "snow" in t or "sleet" in t
