"""What-if experiments behind the recommendations in bench/results.md.

Each one starts the real stack with one thing changed *from the outside*
(a settings module or a worker app module in this folder, selected through
the environment), never by editing the services, and measures it side by
side with the stock configuration:

    .venv/bin/python -m bench.experiments.upload_chunks   # 1 MiB upload chunks in the web
    .venv/bin/python -m bench.experiments.ping_variants   # worker variants for transcode.ping

They are not part of `make bench`.
"""
