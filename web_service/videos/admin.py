from django.contrib import admin, messages

from jobs.models import TranscodeJob
from videos.models import Video
from videos.services.jobs import JobActionError, job_cancel, job_retry
from videos.services.videos import video_delete


def _run_for_each(modeladmin, request, videos, action, verb: str) -> None:
    done = 0
    for video in videos:
        try:
            action(video=video)
            done += 1
        except JobActionError as exc:
            modeladmin.message_user(request, f"{video}: {exc}", messages.WARNING)
    if done:
        modeladmin.message_user(request, f"{verb} {done} video(s).", messages.SUCCESS)


@admin.action(description="Cancel the current transcode")
def cancel_videos(modeladmin, request, queryset):
    _run_for_each(modeladmin, request, queryset, job_cancel, "Cancelled")


@admin.action(description="Retry the transcode")
def retry_videos(modeladmin, request, queryset):
    _run_for_each(modeladmin, request, queryset, job_retry, "Retried")


class TranscodeJobInline(admin.TabularInline):
    model = TranscodeJob
    extra = 0
    can_delete = False
    fields = ("id", "status", "progress", "dispatch_state", "error", "created_at", "finished_at")
    readonly_fields = fields
    show_change_link = True


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):
    # Staff see every person's videos here; the pages and the API show each only its own.
    list_display = (
        "__str__",
        "owner",
        "original_filename",
        "size_bytes",
        "current_status",
        "created_at",
    )
    list_filter = ("owner",)
    search_fields = ("title", "original_filename", "id", "owner__username")
    # A raw id, not a select of every user; staff may give a video to its real owner.
    raw_id_fields = ("owner",)
    readonly_fields = ("id", "source_key", "size_bytes", "current_job", "created_at")
    inlines = [TranscodeJobInline]
    actions = [cancel_videos, retry_videos]

    @admin.display(description="status")
    def current_status(self, obj: Video) -> str:
        return obj.current_job.status if obj.current_job else "-"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("current_job", "owner")

    # Through the service, so the video's objects go with its rows: the
    # source here, the outputs by the transcoder (transcode.delete_outputs).
    def delete_model(self, request, obj: Video) -> None:
        video_delete(video=obj)

    def delete_queryset(self, request, queryset) -> None:
        for video in queryset:
            video_delete(video=video)


@admin.register(TranscodeJob)
class TranscodeJobAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "video",
        "status",
        "progress",
        "dispatch_state",
        "created_at",
        "finished_at",
    )
    list_filter = ("status", "dispatch_state")
    search_fields = ("id", "video__title", "video__original_filename")
    readonly_fields = [field.name for field in TranscodeJob._meta.fields]
    list_select_related = ("video",)
