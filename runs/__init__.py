"""The run engine: every way a graph runs (LangServe, the /lg runs API, saved workflows,
crons, ``chorus run``, the AI endpoints) goes through ``runs.engine.RunEngine``.

Background runs, their recovery after a lost worker, and the schedule tick live here too.
Errors are ``persistence.errors`` (and ``runs.errors``); nothing here knows HTTP.
"""
