from __future__ import annotations

from django import forms

from ingest.content_types import content_type_is_video, not_a_video_message
from ingest.limits import EMPTY_MESSAGE, NO_FILE_MESSAGE


class VideoUploadForm(forms.Form):
    # The upload handler stores only this field's file.
    file = forms.FileField(
        error_messages={
            "required": NO_FILE_MESSAGE,
            "empty": EMPTY_MESSAGE,
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
