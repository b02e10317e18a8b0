"""The web listener: IRC over WebSocket (IRCv3 websocket) and the web client's files."""
