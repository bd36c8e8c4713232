import socket

import pytest


def test_non_loopback_connection_is_refused():
    s = socket.socket()
    try:
        with pytest.raises(ConnectionRefusedError):
            s.connect(("192.0.2.1", 80))
    finally:
        s.close()
