"""Everything that knows about ffmpeg: profiles, probing, command building, running."""
