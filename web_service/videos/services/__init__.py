"""Business logic that writes (HackSoft styleguide: services write, selectors read).

- videos: deleting a video and the objects it owns
- jobs: what a person can do to their video's job (cancel, retry)
- retention: the sweep of what nobody will look at again
"""
