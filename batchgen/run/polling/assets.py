"""Download URLs fetched in bulk by the batched poller, handed to the downloader."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import anyio


class AssetClient(Protocol):
    async def get_asset(self, asset_id: str) -> dict: ...
    def download(self, url: str) -> AbstractAsyncContextManager[Any]: ...


class AssetCache:
    """Download URLs fetched in bulk, handed out once each; a client for the downloader.

    `get_asset` answers from the bulk fetch when it has (or is getting) the asset and
    asks the API for that asset alone otherwise: a renewed URL after an expired one
    always comes from the API.
    """

    def __init__(self, client: AssetClient):
        self._client = client
        self._assets: dict[str, dict[str, Any]] = {}
        self._pending: dict[str, anyio.Event] = {}

    def expect(self, asset_ids: list[str]) -> anyio.Event:
        """Mark assets as being fetched; returns the event set when the fetch ends."""
        ready = anyio.Event()
        for asset_id in asset_ids:
            self._pending[asset_id] = ready
        return ready

    def fill(self, asset_ids: list[str], assets: list[dict[str, Any]], ready: anyio.Event) -> None:
        """Store a bulk answer (possibly empty, after an error) and wake the waiters."""
        for asset in assets:
            if isinstance(asset, dict) and asset.get("id") and asset.get("url"):
                self._assets[str(asset["id"])] = asset
        for asset_id in asset_ids:
            if self._pending.get(asset_id) is ready:
                del self._pending[asset_id]
        ready.set()

    async def get_asset(self, asset_id: str) -> dict[str, Any]:
        """The asset from the bulk fetch (waiting for it if under way), else from the API."""
        pending = self._pending.get(asset_id)
        if pending is not None:
            await pending.wait()
        asset = self._assets.pop(asset_id, None)
        if asset is not None:
            return asset
        return await self._client.get_asset(asset_id)

    def download(self, url: str) -> AbstractAsyncContextManager[Any]:
        """The client's download, unchanged."""
        return self._client.download(url)
