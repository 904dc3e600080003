"""Home Assistant media_player backend via homeassistant-api (REST service calls)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from homeassistant_api import Client
from homeassistant_api.errors import HomeassistantAPIError

from .models import SearchResult, Track
from .player import Player, PlayerError, PlayState, as_tracks, clamp_volume

log = logging.getLogger(__name__)


class HomeAssistantPlayer(Player):
    """Controls one ``media_player.*`` entity. Local tracks map to ``media_url_prefix + relative path``."""

    def __init__(
        self,
        url: str,
        token: str,
        entity_id: str,
        timeout_s: float = 5.0,
        music_dir: Path | str | None = None,
        media_url_prefix: str = "media-source://media_source/local/",
        name: str | None = None,
        client: Client | None = None,
    ):
        self.entity_id = entity_id
        self.name = name or entity_id
        self.music_dir = Path(music_dir).expanduser().resolve() if music_dir else None
        self.media_url_prefix = media_url_prefix
        self.client = client or Client(url, token, global_request_kwargs={"timeout": timeout_s})

    @classmethod
    def from_settings(cls, settings: Any, entity_id: str, name: str | None = None) -> HomeAssistantPlayer:
        h = settings.home_assistant
        return cls(h.url, h.token, entity_id, h.timeout_s, settings.music_dir, h.media_url_prefix, name)

    def _call(self, service: str, **data: Any) -> None:
        try:
            self.client.trigger_service("media_player", service, entity_id=self.entity_id, **data)
        except (HomeassistantAPIError, OSError, TypeError, ValueError) as e:
            raise PlayerError(
                f"Home Assistant call media_player.{service} for {self.entity_id} failed: {e}"
            ) from e
        except Exception as e:  # niquests connection errors
            raise PlayerError(f"cannot reach Home Assistant for {self.entity_id}: {e}") from e

    def _attrs(self) -> tuple[str, dict[str, Any]]:
        try:
            st = self.client.get_state(entity_id=self.entity_id)
        except Exception as e:
            raise PlayerError(f"cannot read {self.entity_id} from Home Assistant: {e}") from e
        return st.state, st.attributes

    def _uri(self, t: Track) -> str:
        if t.is_stream or "://" in t.uri:
            return t.uri
        p = Path(t.uri)
        if self.music_dir and p.is_absolute():
            try:
                return self.media_url_prefix + p.resolve().relative_to(self.music_dir).as_posix()
            except ValueError:
                pass
        return self.media_url_prefix + t.uri.lstrip("/")

    def play(self, items: SearchResult | Track | list[Track] | str, shuffle: bool = False) -> None:
        tracks = as_tracks(items)
        for i, t in enumerate(tracks):
            self._call(
                "play_media",
                media_content_id=self._uri(t),
                media_content_type="music",
                enqueue="replace" if i == 0 else "add",
            )
        if shuffle and len(tracks) > 1:
            self._call("shuffle_set", shuffle=True)

    def pause(self) -> None:
        self._call("media_pause")

    def resume(self) -> None:
        self._call("media_play")

    def stop(self) -> None:
        self._call("media_stop")

    def next(self) -> None:
        self._call("media_next_track")

    def previous(self) -> None:
        self._call("media_previous_track")

    def set_volume(self, volume: int) -> int:
        v = clamp_volume(volume)
        self._call("volume_set", volume_level=round(v / 100, 2))
        return v

    def get_volume(self) -> int:
        _, a = self._attrs()
        return clamp_volume(float(a.get("volume_level") or 0) * 100)

    def mute(self) -> None:
        self._call("volume_mute", is_volume_muted=True)

    def unmute(self) -> None:
        self._call("volume_mute", is_volume_muted=False)

    @property
    def state(self) -> PlayState:
        s, _ = self._attrs()
        return {"playing": PlayState.PLAYING, "paused": PlayState.PAUSED}.get(s, PlayState.STOPPED)

    def now_playing(self) -> dict[str, Any] | None:
        s, a = self._attrs()
        if s not in ("playing", "paused"):
            return None
        return {
            "title": a.get("media_title", ""),
            "artist": a.get("media_artist", ""),
            "album": a.get("media_album_name", ""),
            "uri": a.get("media_content_id", ""),
            "state": s,
            "volume": clamp_volume(float(a.get("volume_level") or 0) * 100),
            "muted": bool(a.get("is_volume_muted", False)),
            "position_s": a.get("media_position"),
        }
