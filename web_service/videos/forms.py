from __future__ import annotations

from django import forms

# Types a browser or HTTP client may declare for a video container it does not
# know better. Anything else (image/png, text/plain, audio/mpeg...) is refused
# up front, with the same message the page shows before sending a byte. The
# declared type is only a courtesy check: the transcoder probes the content,
# and that decides.
# The upload handler stores only this field's file (videos/uploads.py).
UPLOAD_FIELD = "file"

NEUTRAL_TYPES = frozenset(
    {"", "application/octet-stream", "application/mp4", "application/x-matroska"}
)


def content_type_is_video(content_type: str | None) -> bool:
    content_type = (content_type or "").split(";")[0].strip().lower()
    return content_type.startswith("video/") or content_type in NEUTRAL_TYPES


def not_a_video_message(content_type: str | None) -> str:
    # Keep in step with notVideoMessage() in static/videos/app.js.
    return f"Only video files can be uploaded; this file is {content_type}."


class VideoUploadForm(forms.Form):
    file = forms.FileField(
        error_messages={
            "required": "Choose a video file to upload.",
            "empty": "The file is empty.",
            "invalid": "The upload is not a file.",
        },
        # Generated names are used for storage; this only bounds what we show.
        max_length=None,
        allow_empty_file=False,
    )
    title = forms.CharField(max_length=200, required=False, strip=True)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not content_type_is_video(upload.content_type):
            raise forms.ValidationError(not_a_video_message(upload.content_type))
        return upload

    def first_error(self) -> str:
        for errors in self.errors.values():
            return str(errors[0])
        return "The upload is not valid."
