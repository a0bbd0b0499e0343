"""web_service tests.

Helpers are imported relatively (`from ...factories import ...`): the web, the
transcoder and the repository root each have a package named `tests`, and a
relative import always means this one, wherever the folder is copied.
"""
