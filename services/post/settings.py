"""Settings of the post service process."""

from __future__ import annotations

from services.kit.settings import KitSettings


class PostSettings(KitSettings):
    # Relay this service's outbox from the service process itself (the standalone
    # `outbox-relay` can take over in production; both may run side by side).
    relay_outbox: bool = True
