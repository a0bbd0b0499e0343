"""The web's settings with 1 MiB upload chunks instead of Django's 64 KiB (experiment only).

Django's multipart parser reads the body in the smallest chunk_size of the
upload handlers, so both handlers get the larger size.
"""

from config.settings import *

FILE_UPLOAD_HANDLERS = [
    "bench.experiments.upload_handlers.SizeLimited1MiB",
    "bench.experiments.upload_handlers.Temporary1MiB",
]
