"""Business logic that writes (HackSoft styleguide: services write, selectors read).

- uploads: recording a stored upload as a video and its first job
- videos: deleting a video and the objects it owns
- dispatch: the outbox, sending jobs to the transcoder after the commit
- replies: applying the worker's state messages to jobs and TaskResult
"""
