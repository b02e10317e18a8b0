"""IRCv3 metadata: keys and values on users and channels (``METADATA``)."""
