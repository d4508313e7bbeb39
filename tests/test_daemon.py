"""The daemon's reload: whatever goes wrong while reading, the running config stays."""

from __future__ import annotations

from balance_exporter.config.checker import Config
from balance_exporter.daemon import Daemon


async def test_a_reload_that_fails_unforeseen_keeps_the_config_and_says_so() -> None:
    def broken() -> Config:
        raise TypeError("unhashable type: 'dict'")

    daemon = Daemon(broken, Config())
    try:
        await daemon.start()
        assert daemon.store.snapshot.exporter.reload_successful
        assert await daemon.reload() == ["<config>: cannot be loaded (TypeError)"]
        assert not daemon.store.snapshot.exporter.reload_successful
        assert daemon.config == Config()
    finally:
        await daemon.stop()
