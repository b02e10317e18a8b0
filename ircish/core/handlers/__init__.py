"""The built-in command handlers, one module per family: each adapts a parsed line
to the rules (``membership``, ``nicks``, ``state``) and answers through the server's
reply helpers. Only ``core.commands``, the table, imports them."""
