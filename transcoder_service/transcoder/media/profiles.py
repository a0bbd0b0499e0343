"""The output renditions, as data.

The encoder settings live here and nowhere else, so re-tuning them (a
benchmark will pick the final preset/CRF) is a change to this table only.
Profile names are part of the message contract (docs/messages.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True, kw_only=True)
class Profile:
    name: str
    # Landscape bounding box; commands.fit_within swaps it for portrait sources.
    box_width: int
    box_height: int
    audio_bitrate: str
    video_codec: str = "libx264"
    # veryfast/23 is a common "good enough, quick" starting point for H.264.
    preset: str = "veryfast"
    crf: int = 23
    # yuv420p is the only chroma layout every browser and phone decodes.
    pix_fmt: str = "yuv420p"
    audio_codec: str = "aac"
    audio_channels: int = 2
    # Faster sources are slowed to this. 720p at 240 fps needs H.264 level
    # 5.1, beyond what many phones decode in hardware, and costs four times
    # the encoding of 60 fps for motion no screen shows.
    max_frame_rate: int = 60


PROFILES: Mapping[str, Profile] = MappingProxyType(
    {
        "720p": Profile(name="720p", box_width=1280, box_height=720, audio_bitrate="128k"),
        "480p": Profile(name="480p", box_width=854, box_height=480, audio_bitrate="96k"),
    }
)
