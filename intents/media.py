"""Music: search and play, transport (pause, resume, next, previous), volume, mute, "what's playing".

Home Assistant's intent and slot names (HassMediaSearchAndPlay: search_query, media_class, name, area; ...).
The handlers use ``ctx.services.media`` (``devices.media.MediaService``); a player is chosen by the
``name``/``area`` slot ("in the kitchen"), else by ``ctx.area``, else the default player.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, ClassVar, Self

from pydantic import Field

from .registry import register
from .schema import Context, Intent, IntentError, Outcome, SlotError, Usage

if TYPE_CHECKING:
    from devices.media.service import MediaService
    from devices.media.settings import PlayerConfig

if TYPE_CHECKING:
    from devices.media.models import MatchKind

log = logging.getLogger(__name__)

NOT_SET_UP = "Music isn't set up on this assistant."
NOTHING_PLAYING = "Nothing is playing right now."

# "play a game", "play chess with me": never music (SLURP play_game).
_GAME = re.compile(
    r"\b(?:games?|chess|checkers|draughts|poker|solitaire|blackjack|tic ?tac ?toe|trivia|quiz|puzzles?|riddles?|"
    r"sudoku|crosswords?|pinball|bingo|hide and seek|i spy|cards|scrabble|monopoly|minecraft|fortnite|level \d+)\b"
    r"|\b(?:with|against) (?:me|us)\b"
)
# a match or game on the radio is a broadcast to listen to, not a game to play
_BROADCAST = re.compile(r"\bon (?:the )?(?:radio|air)\b")
# What is not a search: "play music", "play something", "put on some tunes" -> everything, shuffled.
_ANYTHING = re.compile(
    r"^(?:(?:some|any|a|my|the|me|all|all of)\s+)*(?:music|songs?|tunes|tracks?|something|anything|stuff|"
    r"audio|library|music library|whole library|entire library|collection|favou?rites?)?$"
)
# A "where" that is a place in a home even when no players are configured ("play jazz in the kitchen").
_ROOM = re.compile(
    r"\b(?:kitchen|living ?room|lounge|bedroom|bathroom|office|study|hall(?:way)?|dining ?room|garage|garden|patio|"
    r"basement|cellar|attic|nursery|kids ?room|den|porch|upstairs|downstairs|house|room|everywhere|speakers?|tv|"
    r"stereo|player)\b"
)
_DESCRIBED = re.compile(
    r"(?:(?:the|my|our|some|all|all the|all of)\s+)?(?:(?:favou?rite|top rated|newest|latest|new|best|greatest|"
    r"popular)\s+)*(?:(songs?|tracks?|music|albums?)\s+by|(audio ?books?|podcasts?)\s+(?:by|of))\s+"
)
_CLASS_TO_KIND: dict[str, MatchKind] = {
    "artist": "artist",
    "album": "album",
    "track": "title",
    "playlist": "playlist",
}


def _service(ctx: Context) -> MediaService | None:
    return ctx.services.media


def _ringing(ctx: Context) -> bool:
    return any(a.state == "ringing" for a in ctx.store.alarms()) or any(
        t.state == "ringing" for t in ctx.store.timers()
    )


def _unreachable(svc: MediaService, config: PlayerConfig | None, exc: Exception) -> Outcome:
    log.warning("music player %s: %s", svc.player_name(config), exc)
    return Outcome("I can't reach the music player right now.")


class PlayerIntent(Intent):
    """Base of the media intents: which player (HA slots ``name`` and ``area``)."""

    reply_heads: ClassVar[tuple[str, ...]] = (NOTHING_PLAYING,)

    name: str | None = Field(None, description="Name of the media player")
    area: str | None = Field(None, description="Area of the media player, e.g. 'kitchen'")

    @classmethod
    def from_slots(cls, slots: dict[str, Any], text: str, ctx: Context) -> Self:
        svc = _service(ctx)
        for key in ("name", "area"):
            where = slots.get(key)
            if isinstance(where, str):
                where = re.sub(r"^(?:the|my|our)\s+", "", where.strip()).strip()
                known = (svc is not None and svc.knows(where)) or where == (ctx.area or "").lower()
                if not known and not _ROOM.search(where):
                    raise SlotError(f"{where!r} is not a player or room")  # "play songs in the key of life"
                slots[key] = where or None
        return cls.model_validate(slots)

    def choose(self, ctx: Context) -> tuple[MediaService, PlayerConfig | None]:
        """(service, player config or None for the default); else an ``IntentError`` says why not."""
        svc = _service(ctx)
        if svc is None:
            raise IntentError(NOT_SET_UP)
        where = self.name or self.area
        if where:
            if svc.settings.players and not svc.knows(where):
                known = ", ".join(p.area or p.name for p in svc.settings.players)
                raise IntentError(f"I don't know a music player in the {where}; I know: {known}.")
            return svc, svc.resolve(where)
        if ctx.area and svc.knows(ctx.area):
            return svc, svc.resolve(ctx.area)
        return svc, svc.resolve(None)

    def action(
        self, svc: MediaService, config: PlayerConfig | None, command: str, **extra: Any
    ) -> dict[str, Any]:
        return {"type": "media", "command": command, "player": svc.player_name(config), **extra}

    def transport(self, ctx: Context, command: str, done: str) -> Outcome:
        """pause/resume/next/previous on the chosen player, if it has something to act on."""
        svc, config = self.choose(ctx)
        try:
            player = svc.peek(config)
            state = player.state.value if player else "stopped"
            if command == "resume":
                if state == "playing":
                    return Outcome("The music is already playing.")
                if not (player and player.now_playing()):
                    return Outcome("There's nothing to resume.")
            elif state == "stopped" or (command == "pause" and state == "paused"):
                return Outcome(
                    NOTHING_PLAYING
                    if command != "pause" or state == "stopped"
                    else "The music is already paused."
                )
            if not ctx.dry_run:
                getattr(player, command)()
        except Exception as e:  # PlayerError, OSError, a backend's own errors
            return _unreachable(svc, config, e)
        return Outcome(done, [self.action(svc, config, command)])


@register
class HassMediaSearchAndPlay(PlayerIntent):
    intent: ClassVar[str] = "HassMediaSearchAndPlay"
    reply_heads: ClassVar[tuple[str, ...]] = ("Playing", "Your music library is empty;")
    said_fields: ClassVar[tuple[str, ...]] = ("search_query",)
    usage: ClassVar[Usage] = Usage(
        "play music",
        "Play some jazz.",
        ("music", "song", "songs", "radio", "play", "volume", "podcast"),
        needs="media",
    )
    description: ClassVar[str] = (
        "Searches the music library (artist, album, song, genre, mood, playlist, radio station) and plays it."
    )

    search_query: str = Field(
        "", description="What to play, e.g. 'abbey road by the beatles', 'jazz', 'my workout playlist'"
    )
    media_class: str | None = Field(None, description="artist, album, track, playlist (optional)")
    shuffle: bool = False

    @classmethod
    def from_slots(cls, slots: dict[str, Any], text: str, ctx: Context) -> Self:
        query = str(slots.get("search_query") or "").strip()
        query = re.sub(
            r"\s+(?:(?:right )?now|again|next|please|for me|on shuffle|shuffled|at random|randomly)$",
            "",
            query,
        )
        query = re.sub(r"^(?:some|a bit of|a little|me|me some|for me)\s+", "", query)
        query = re.sub(
            r"\s+and (?:then )?(?:play|shuffle|queue|start)\b.*$", "", query
        )  # "eminem and play with shuffle"
        query = re.sub(r"^(?:of|by)\s+", "", query)  # "(the podcast) of barack obama"
        query = re.sub(r"^(?:the\s+)?(?:\w+\s+)?episode\s+of\s+", "", query)  # "the 7th episode of the daily"
        genre = re.fullmatch(
            r"(?:(?:some|the)\s+)?(?:music|songs?|tracks?)\s+(?:from|of|in)\s+the\s+(.+?)\s+genre", query
        )
        if genre:  # "music from the jazz genre"
            query = genre.group(1)
        # "my favourite song by bruno mars", "the newest album by jay z": search the artist
        said = _DESCRIBED.match(query)
        if said:
            query = query[said.end() :]
            if said.group(1) and not slots.get("media_class"):
                slots["media_class"] = "artist"
        where = re.fullmatch(r"(.+?) (in|on|through) (?:the |my |our )?(.+)", query)
        if where and not (slots.get("area") or slots.get("name")):  # one wildcard swallowed "in the kitchen"
            svc = _service(ctx)
            if (svc is not None and svc.knows(where.group(3))) or _ROOM.search(where.group(3)):
                query = where.group(1)
                slots["area" if where.group(2) != "on" else "name"] = where.group(3)
        if (_GAME.search(text) or _GAME.search(query)) and not _BROADCAST.search(text):
            raise SlotError(f"{query!r} is a game, not music")
        if re.fullmatch(r"(?:it|this|that|the|a|an)?", query) and not slots.get("media_class"):
            raise SlotError("nothing to search for")
        slots["search_query"] = query
        slots["shuffle"] = bool(re.search(r"\b(?:shuffle|shuffled|random|randomly)\b", text))
        return super().from_slots(slots, text, ctx)

    def handle(self, ctx: Context) -> Outcome:
        svc, config = self.choose(ctx)
        query = self.search_query
        everything = bool(_ANYTHING.match(query.lower())) and not self.media_class
        learned = ""
        if everything and re.search(
            r"\b(?:my|usual|favou?rites?)\b", ctx.text
        ):  # "play my music": what they like
            from .preferences import liked_music

            liked = liked_music(ctx)
            if liked:
                query, everything = liked[0], False
                learned = ", which you play most" if liked[1] else ", as you like"
        try:
            if everything:
                result = svc.everything(query or "music")
                shuffle = True
            else:
                from .media_query import read_query

                kind = _CLASS_TO_KIND.get(self.media_class or "")
                result = svc.find(read_query(query, kind, moods=svc.settings.moods))
                shuffle = self.shuffle
        except Exception as e:  # library on MPD unreachable, unreadable folder
            return _unreachable(svc, config, e)
        if not result.found:
            if everything:
                return Outcome("Your music library is empty; put music in the folder set as media.music_dir.")
            return Outcome(f"I couldn't find anything called {query} in your music.")
        from .media_query import describe

        matched = "your music" if everything else describe(result)
        action = self.action(
            svc,
            config,
            "play",
            query=query,
            matched=matched,
            kind=result.kind,
            tracks=len(result.tracks),
            shuffle=shuffle,
        )
        if not ctx.dry_run:
            try:
                svc.player(config).play(result, shuffle=shuffle)
            except Exception as e:
                return _unreachable(svc, config, e)
            if not everything:
                from .preferences import store_of

                store = store_of(ctx)
                if store is not None:
                    store.played(
                        query
                    )  # to learn a liking from (conservatively: see preferences.LEARN_AFTER)
        where = f" in the {config.area}" if config and config.area and (self.area or self.name) else ""
        return Outcome(
            f"Playing {matched}{learned}{', shuffled' if shuffle and not everything else ''}{where}.",
            [action],
        )


@register
class HassMediaPause(PlayerIntent):
    intent: ClassVar[str] = "HassMediaPause"
    description: ClassVar[str] = "Pauses (stops) the music."

    def handle(self, ctx: Context) -> Outcome:
        return self.transport(ctx, "pause", "Paused.")


@register
class HassMediaUnpause(PlayerIntent):
    intent: ClassVar[str] = "HassMediaUnpause"
    description: ClassVar[str] = "Resumes the paused music."

    def handle(self, ctx: Context) -> Outcome:
        return self.transport(ctx, "resume", "Resuming.")


@register
class HassMediaNext(PlayerIntent):
    intent: ClassVar[str] = "HassMediaNext"
    description: ClassVar[str] = "Skips to the next song."

    def handle(self, ctx: Context) -> Outcome:
        return self.transport(ctx, "next", "Skipping to the next song.")


@register
class HassMediaPrevious(PlayerIntent):
    intent: ClassVar[str] = "HassMediaPrevious"
    description: ClassVar[str] = "Goes back to the previous song (or the start of this one)."

    def handle(self, ctx: Context) -> Outcome:
        return self.transport(ctx, "previous", "Going back.")


class VolumeIntent(PlayerIntent):
    reply_heads: ClassVar[tuple[str, ...]] = (NOTHING_PLAYING, "Volume")

    def set_to(self, ctx: Context, volume: int | None, delta: int | None) -> Outcome:
        svc, config = self.choose(ctx)
        try:
            player = svc.peek(config) if ctx.dry_run else svc.player(config)  # a dry run opens no speaker
            current = player.get_volume() if player else svc.settings.default_volume
            target = max(0, min(100, volume if volume is not None else current + (delta or 0)))
            if player is not None and not ctx.dry_run:
                target = player.set_volume(target)
        except Exception as e:
            return _unreachable(svc, config, e)
        action = self.action(svc, config, "volume", volume=target, previous=current)
        if delta is not None and target == current:
            edge = "maximum" if delta > 0 else "minimum"
            return Outcome(f"The volume is already at its {edge}.", [action])
        return Outcome(f"Volume {target} percent.", [action])


@register
class HassSetVolume(VolumeIntent):
    intent: ClassVar[str] = "HassSetVolume"
    description: ClassVar[str] = "Sets the music volume to a level 0-100."

    volume_level: int = Field(..., ge=0, le=100, description="Volume in percent")

    @classmethod
    def from_slots(cls, slots: dict[str, Any], text: str, ctx: Context) -> Self:
        if "volume" in slots and "volume_level" not in slots:
            slots["volume_level"] = slots.pop("volume")
        return super().from_slots(slots, text, ctx)

    def handle(self, ctx: Context) -> Outcome:
        return self.set_to(ctx, self.volume_level, None)


@register
class HassSetVolumeRelative(VolumeIntent):
    intent: ClassVar[str] = "HassSetVolumeRelative"
    description: ClassVar[str] = (
        "Turns the music up or down (by the configured step, or by a number of percent)."
    )

    volume_step: str | int = Field(..., description="'up', 'down', or a signed change in percent")

    @classmethod
    def from_slots(cls, slots: dict[str, Any], text: str, ctx: Context) -> Self:
        step = slots.get("volume_step")
        if isinstance(step, str) and re.fullmatch(r"-?\d+", step.strip()):
            step = int(step)
        if isinstance(step, str) and step not in ("up", "down"):
            raise SlotError(f"volume_step must be up, down or a number, not {step!r}")
        if isinstance(step, str) and re.search(r"\b(?:a lot|lots|much|way|loads)\b", text):
            step = f"{step} a lot"
        slots["volume_step"] = step
        return super().from_slots(slots, text, ctx)

    def handle(self, ctx: Context) -> Outcome:
        step = self.volume_step
        if isinstance(step, str):
            svc = _service(ctx)
            size = svc.settings.volume_step if svc else 10
            size *= 2 if step.endswith("a lot") else 1
            step = size if step.startswith("up") else -size
        return self.set_to(ctx, None, step)


class MuteIntent(PlayerIntent):
    @classmethod
    def from_slots(cls, slots: dict[str, Any], text: str, ctx: Context) -> Self:
        if _ringing(ctx) and not (
            slots.get("name") or slots.get("area") or re.search(r"\b(?:music|tv|radio|speakers?)\b", text)
        ):
            raise SlotError("an alarm or timer rings: a bare 'mute' means that")  # StopAlarm takes it
        return super().from_slots(slots, text, ctx)

    def set_muted(self, ctx: Context, muted: bool) -> Outcome:
        svc, config = self.choose(ctx)
        try:
            if not ctx.dry_run:
                player = svc.player(config)
                player.mute() if muted else player.unmute()
        except Exception as e:
            return _unreachable(svc, config, e)
        return Outcome("Muted." if muted else "Unmuted.", [self.action(svc, config, "mute", muted=muted)])


@register
class HassMediaPlayerMute(MuteIntent):
    intent: ClassVar[str] = "HassMediaPlayerMute"
    description: ClassVar[str] = "Mutes the music."

    def handle(self, ctx: Context) -> Outcome:
        return self.set_muted(ctx, True)


@register
class HassMediaPlayerUnmute(MuteIntent):
    intent: ClassVar[str] = "HassMediaPlayerUnmute"
    description: ClassVar[str] = "Unmutes the music."

    def handle(self, ctx: Context) -> Outcome:
        return self.set_muted(ctx, False)


@register
class MediaWhatsPlaying(PlayerIntent):
    intent: ClassVar[str] = "MediaWhatsPlaying"
    description: ClassVar[str] = "Says which song is playing."

    def handle(self, ctx: Context) -> Outcome:
        svc, config = self.choose(ctx)
        try:
            player = svc.peek(config)
            info = player.now_playing() if player else None
        except Exception as e:
            return _unreachable(svc, config, e)
        if not info or not (info.get("title") or info.get("uri")):
            return Outcome(NOTHING_PLAYING)
        title = info.get("title") or str(info.get("uri", "")).rsplit("/", 1)[-1]
        text = f"This is {title}"
        if info.get("artist"):
            text += f" by {info['artist']}"
        if info.get("album"):
            text += f", from {info['album']}"
        paused = " (paused)" if info.get("state") == "paused" else ""
        return Outcome(f"{text}{paused}.")


def stop_music(ctx: Context) -> Outcome | None:
    """'stop' when nothing rings: pause whatever is playing (None when nothing is)."""
    svc = _service(ctx)
    if svc is None:
        return None
    playing = svc.playing()
    if not playing:
        return None
    actions = []
    for name, player in playing:
        if not ctx.dry_run:
            try:
                player.pause()
            except Exception as e:
                log.warning("music player %s: %s", name, e)
                return Outcome("I can't reach the music player right now.")
        actions.append({"type": "media", "command": "pause", "player": name})
    return Outcome("Music paused.", actions)
