"""The terminal client: a Trio IRC connection, a urwid full-screen view and a plain line mode."""
