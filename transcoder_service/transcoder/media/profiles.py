"""The output renditions, as data.

The encoder settings live here and nowhere else, so re-tuning them (a
benchmark will pick the final preset/CRF) is a change to this table only.
Profile names are part of the message contract (docs/messages.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from transcoder import contract


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


@dataclass(frozen=True, kw_only=True)
class Rung:
    """One variant of the adaptive HLS ladder (docs/messages.md, "Profiles")."""

    name: str
    # Landscape bounding box, turned for portrait sources like a Profile's.
    box_width: int
    box_height: int
    # Constrained VBR: CRF keeps easy scenes small, and -maxrate/-bufsize cap
    # the hard ones, so the BANDWIDTH ffmpeg writes into the master playlist
    # (maxrate plus audio, plus 10 %) is a peak a player can trust.
    maxrate: str
    bufsize: str
    audio_bitrate: str
    crf: int = 23


# Highest first: the master playlist and the result list them in this order.
RUNGS: tuple[Rung, ...] = (
    Rung(name="1080p", box_width=1920, box_height=1080, maxrate="5000k", bufsize="10000k",
         audio_bitrate="128k"),
    Rung(name="720p", box_width=1280, box_height=720, maxrate="3000k", bufsize="6000k",
         audio_bitrate="128k"),
    Rung(name="480p", box_width=854, box_height=480, maxrate="1500k", bufsize="3000k",
         audio_bitrate="96k"),
    Rung(name="360p", box_width=640, box_height=360, maxrate="800k", bufsize="1600k",
         audio_bitrate="64k"),
)  # fmt: skip
# Every name a caller may put in `profiles`: the MP4s, and contract.PROFILE_HLS,
# which asks for the ladder instead of one MP4.
PROFILE_NAMES: frozenset[str] = frozenset({*PROFILES, contract.PROFILE_HLS})
