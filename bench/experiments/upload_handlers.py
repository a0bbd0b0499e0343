"""The web's own upload handlers with a 1 MiB chunk_size (experiment only)."""

from django.core.files.uploadhandler import TemporaryFileUploadHandler
from videos.uploads import SizeLimitedUploadHandler

CHUNK = 1024 * 1024


class SizeLimited1MiB(SizeLimitedUploadHandler):
    chunk_size = CHUNK


class Temporary1MiB(TemporaryFileUploadHandler):
    chunk_size = CHUNK
