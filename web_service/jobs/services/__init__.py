"""Business logic that writes (HackSoft styleguide: services write, selectors read).

- dispatch: the outbox, sending jobs to the transcoder after the commit
- replies: applying the worker's state messages to jobs and TaskResult
- reaper: re-sending lost jobs and failing stalled ones
"""
