"""What the plugin layer raises when a plugin or its settings cannot work."""

from __future__ import annotations


class PluginConfigError(RuntimeError):
    """A plugin's settings or loading are wrong; raised at startup or first use, never hidden."""
