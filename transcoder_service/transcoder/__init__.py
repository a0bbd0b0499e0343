"""The transcoder service: turns uploaded videos into web-ready MP4 renditions.

It talks to the outside world only through the message contract in
docs/messages.md; nothing here imports Django or the web service.
"""
