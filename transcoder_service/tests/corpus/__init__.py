"""The bad-input corpus: awkward, damaged and hostile input, run through a real worker.

Nothing here is committed media: sources.py and broken.py build every file at
test time from ffmpeg's lavfi sources or from plain bytes; cases.py (files)
and messages.py (messages) say how each case must end, in model.py's terms;
checks.py judges a rendition; test_bad_input.py sends every case to one
worker process.
"""
