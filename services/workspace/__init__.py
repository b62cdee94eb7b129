"""The content workspace: posts as a team edits, schedules and approves them, the calendar,
templates and the media library.

The publishing engine (``services.publishing``) is the only thing that sends posts out; the
workspace hands a post over by making it due (status ``scheduled``, ``scheduledAt`` reached)
and keeps its hands off a post from the moment the engine claims it.
"""
