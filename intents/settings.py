"""Settings the intent handlers read (composed into the assistant's config as ``intents:``)."""

from pydantic import BaseModel, ConfigDict, Field


class IntentSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    snooze_minutes: int = Field(9, ge=1, le=120, description="Default snooze length.")
    ring_timeout_minutes: int = Field(
        10, ge=1, le=240, description="An alarm or timer nobody stops goes quiet after this long."
    )
    max_timer_hours: int = Field(24, ge=1, le=168, description="Longest timer accepted.")
