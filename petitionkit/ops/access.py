"""Who may read /metrics and the outbox figures of /readyz.

Those figures move with each signing, so a stranger watching them could learn whether an address
they tried had signed. They are answered to:

- a connection from ``OPS_ALLOW_NETWORKS`` (loopback by default) that was not forwarded by a
  proxy;
- a request with ``Authorization: Bearer <OPS_TOKEN>``, from anywhere;
- everyone, when the operator sets ``OPS_OPEN``.

The network is judged on the address of the connection itself, never on what a header says.
Behind a reverse proxy ProxyFix rewrites ``REMOTE_ADDR`` from X-Forwarded-For, and the proxy on
the same machine connects from loopback: either way a forged ``X-Forwarded-For: 127.0.0.1`` would
look local. So a request that carries X-Forwarded-For, Forwarded or X-Real-IP counts as coming
from somewhere else, whatever addresses it names and however many proxies are trusted: through a
proxy, the token is the way in.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from petitionkit.config import ConfigurationError
from petitionkit.registry import Slot

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Headers by which a proxy says for whom it forwards a request (as WSGI environ keys).
FORWARDING_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


def _networks(value: object) -> tuple[Network, ...]:
    if not isinstance(value, list | tuple):
        raise ConfigurationError(
            f'OPS_ALLOW_NETWORKS must be a list such as ["127.0.0.0/8", "::1/128"], not {value!r}'
        )
    networks = []
    for item in value:
        try:
            networks.append(ipaddress.ip_network(str(item)))
        except ValueError as error:
            raise ConfigurationError(
                f"OPS_ALLOW_NETWORKS: {item!r} is not a network such as 10.0.0.0/8 ({error})"
            ) from error
    return tuple(networks)


def connection_address(environ: Mapping[str, Any]) -> str:
    """The address that opened the connection, before ProxyFix replaced it."""
    original = environ.get("werkzeug.proxy_fix.orig")
    if original is not None:
        return str(original.get("REMOTE_ADDR") or "")
    return str(environ.get("REMOTE_ADDR") or "")


@dataclass(frozen=True)
class OpsAccess:
    open: bool
    networks: tuple[Network, ...]
    token: str | None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> OpsAccess:
        token = config.get("OPS_TOKEN")
        return cls(
            open=bool(config["OPS_OPEN"]),
            networks=_networks(config["OPS_ALLOW_NETWORKS"]),
            token=str(token) if token else None,
        )

    def allows(self, environ: Mapping[str, Any]) -> bool:
        return self.open or self.is_local(environ) or self.has_token(environ)

    def is_local(self, environ: Mapping[str, Any]) -> bool:
        if any(header in environ for header in FORWARDING_HEADERS):
            return False
        try:
            address = ipaddress.ip_address(connection_address(environ))
        except ValueError:  # no address at all: a Unix socket
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # a dual-stack server's view of an IPv4 client
        return any(address in network for network in self.networks)

    def has_token(self, environ: Mapping[str, Any]) -> bool:
        if self.token is None:
            return False
        scheme, _, offered = str(environ.get("HTTP_AUTHORIZATION", "")).partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(offered.strip().encode(), self.token.encode())


# What the app holds of this module's, read with .of() (see petitionkit/registry.py).
OPS_ACCESS: Slot[OpsAccess] = Slot("petitionkit.ops_access", OpsAccess)
