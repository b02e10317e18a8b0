"""ircish: an IRC server and terminal client on Trio."""

__version__ = "0.1.0"
