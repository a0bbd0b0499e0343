"""gunicorn settings, read from the environment (`--config python:config.gunicorn`).

https://docs.gunicorn.org/en/stable/settings.html
"""

import os

bind = f"{os.environ.get('WEB_HOST', '127.0.0.1')}:{os.environ.get('WEB_PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads let one worker keep answering status polls while another thread
# streams a large upload to disk.
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
# Long enough for a slow multi-GiB upload on one request.
timeout = 300
graceful_timeout = 20
accesslog = "-"
# Load the app once in the master, so workers fork with it ready.
preload_app = True
# gunicorn >= 24 opens a control socket at one fixed path per user
# (~/.gunicorn/gunicorn.ctl); two servers on one machine (a `make run` and a
# test run) would fight over it, and nothing here uses it.
control_socket_disable = True
