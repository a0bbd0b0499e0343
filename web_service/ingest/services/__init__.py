"""Business logic that writes (HackSoft styleguide: services write, selectors read).

- uploads: recording a stored upload as a video and its first job, within the quota
- direct_uploads: resumable uploads straight to the store
"""
