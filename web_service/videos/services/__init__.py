"""Business logic that writes (HackSoft styleguide: services write, selectors read).

- uploads: storing an uploaded file and creating its video and first job
- dispatch: the outbox, sending jobs to the transcoder after the commit
- replies: applying the worker's state messages to jobs and TaskResult
"""
