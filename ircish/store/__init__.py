"""The history worker's side: the database, and nothing the server process runs.

Everything here may import SQLAlchemy; the server imports none of it (it talks
to ``worker`` through ``ircish.history.client``). ``schema`` holds the tables,
``writer`` the one batching writer (``rows`` turns events into rows),
``queries`` answers a ``HistoryRequest`` and ``reader`` runs it in threads,
``local`` is all of it in one process (the worker, tests, tools). ``database``
opens engines, ``migrate``/``prepare`` run Alembic (migrations in
``ircish/migrations/``), ``backup``, ``integrity``, ``retention`` and ``filewatch``
keep the file healthy, ``cli`` is ``ircish-server db``.
"""
