"""IRCv3 ``draft/multiline``: client batches of PRIVMSG/NOTICE lines, one message."""
