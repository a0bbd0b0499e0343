"""Business logic that writes (HackSoft styleguide: services write, selectors read).

- videos: recording a stored upload as a video and its first job; deleting a
  video and the objects it owns
- jobs: what a person can do to their video's job (cancel, retry)
- direct_uploads: resumable uploads straight to the store
- retention: the sweep of what nobody will look at again
"""
