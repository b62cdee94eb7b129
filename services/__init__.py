"""The product's domain operations, used alike by the API, the graphs and background jobs.

Each module takes the tenant first and the components it needs (the database, memory...)
as arguments, never a request or a run config, and raises ``persistence.errors`` for what
the caller must fix.
"""
