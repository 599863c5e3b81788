"""Who the client is: the socket's peer, unless that peer is a proxy we trust.

Behind trusted proxies (the Istio ingress, a load balancer) the client is the right-most
address of X-Forwarded-For that is not itself a trusted proxy: everything to its left was
written by the client and can be forged, everything to its right by our own proxies.
uvicorn's own proxy-header handling is switched off (see __main__), so this is the only
place that reads the header.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.types import Scope

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _trusted(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_ip(scope: Scope, networks: Sequence[Network]) -> str:
    client = scope.get("client")
    peer = str(client[0]) if client else ""
    if not networks or not _trusted(peer, networks):
        return peer
    hops: list[str] = []
    for name, value in scope.get("headers", ()):
        if name == b"x-forwarded-for":
            hops.extend(h.strip() for h in value.decode("latin-1").split(","))
    for hop in reversed([h for h in hops if h]):
        if not _trusted(hop, networks):
            return hop
    # Every hop is one of ours (or there is no header): the left-most is the best we know.
    return hops[0] if hops and hops[0] else peer
