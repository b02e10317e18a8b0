"""Persistent history, the server's side: CHATHISTORY, replay on join, the worker's client.

``feature`` is the extension ``ircish.app.build_server`` installs when ``[storage]
url`` is set; ``client`` talks to the history worker process (``ircish.store``,
the only place that imports SQLAlchemy). ``codec`` and ``rpc`` are the wire both
sides speak; ``records``, ``settings``, ``errors`` and ``outage`` are plain values
both sides share. Nothing in this package imports SQLAlchemy.
"""
