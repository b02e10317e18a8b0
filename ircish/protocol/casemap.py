"""Case mapping of nicknames and channel names.

We advertise CASEMAPPING=rfc1459: ASCII letters plus []\\~ fold to {}|^, because
that is what most servers and clients assume when they compare names.
"""

_RFC1459 = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ[]\\~",
    "abcdefghijklmnopqrstuvwxyz{}|^",
)

CASEMAPPING = "rfc1459"


def casefold(name: str) -> str:
    return name.translate(_RFC1459)
