"""Delivery transports: one module per channel kind, each a small class whose ``notify(alert)``
returns or raises ``TransportError``; ``registry`` maps a kind to its class and builds the
configured ``[[alerts.channels]]`` (see ``registry.build_channels``)."""
