"""A DNS server on 127.0.0.1 (UDP, dnspython's wire format) answering TXT questions from a
table: the ``_atproto.<handle>`` records of the Bluesky tests."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset


@contextmanager
def txt_server(records: dict[str, str]) -> Iterator[str]:
    """Serve ``{name: text}`` as TXT records; yields ``"127.0.0.1:port"``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def answer() -> None:
        while not stop.is_set():
            try:
                wire, client = sock.recvfrom(4096)
            except TimeoutError:
                continue
            query = dns.message.from_wire(wire)
            response = dns.message.make_response(query)
            question = query.question[0]
            name = question.name.to_text(omit_final_dot=True)
            if question.rdtype == dns.rdatatype.TXT and name in records:
                response.answer.append(
                    dns.rrset.from_text(question.name, 60, "IN", "TXT", f'"{records[name]}"')
                )
            else:
                response.set_rcode(dns.rcode.NXDOMAIN)
            sock.sendto(response.to_wire(), client)

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{sock.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        sock.close()
