"""The simulator's assets: `GET /assets/{id}`, `POST /assets/get-bulk`, `POST /assets`
uploads (and the image an imported multipart upload becomes, for uploadroutes.py), the
model document, the team's limits, and the signed CDN URLs videos are downloaded from.

Part of `Simulator` (app.py), whose knobs and state it reads.
"""

from __future__ import annotations

import base64
import binascii
import math
from typing import Any

from batchgen.models.catalog import DEFAULT_MODEL
from batchgen.simulator import media, model
from batchgen.simulator.http import Request, Response, json_response
from batchgen.simulator.state import AUTHOR_ID, OWNER_ID, SimAsset, SimJob, new_id
from batchgen.timestamps import iso

MAX_BULK = 200


class AssetRoutes:
    """Assets and models: reading, bulk reading, uploading, team limits, and the CDN."""

    def _is_image(self, asset_id: str) -> bool:
        asset = self.assets.get(asset_id)
        return asset is not None and asset.kind == "image"

    def _materialize(self, job: SimJob) -> None:
        """Create the job's video assets once it has succeeded."""
        width, height = media.frame_size(job.body)
        for index, asset_id in enumerate(job.asset_ids):
            if asset_id not in self.assets:
                self.assets[asset_id] = SimAsset(
                    asset_id, "video", "video/mp4", media.video_for(job.job_id, index, job.body),
                    job.end, f"{job.job_id}-{index}.mp4", job_id=job.job_id, width=width, height=height,
                    ready=job.end + job.asset_delay)

    def _visible_asset(self, asset_id: str) -> SimAsset | None:
        if asset_id not in self.assets:
            owner = self.jobs.get(self._asset_owner.get(asset_id, ""))
            if owner is None or owner.status(self.clock()) != "success":
                return None
            self._materialize(owner)
        return self.assets[asset_id]

    def _asset_json(self, asset: SimAsset, origin: str) -> dict[str, Any]:
        expires = int((self.clock() + self.url_lifetime / self.time_scale) * 1000)
        ext = asset.mime_type.split("/")[1]
        sig = media.sign(self._url_secret, asset.id, expires)
        url = f"{origin}/cdn/{asset.id}.{ext}?expires={expires}&sig={sig}"
        status = "success"
        if asset.pending(self.clock()):
            status, url = "pending", ""  # the SDK types `url` as a string: empty until ready
        properties: dict[str, Any] = {"size": len(asset.data)}
        if asset.width:
            properties.update(width=asset.width, height=asset.height)
        if asset.kind == "video":
            owner = self.jobs.get(asset.job_id or "")
            properties["duration"] = media.clip_seconds(owner.body if owner else None)
        video = asset.kind == "video"
        metadata: dict[str, Any] = {"kind": asset.kind, "type": "txt2video" if video else "uploaded",
                                    "name": asset.name}
        if video:
            owner = self.jobs.get(self._asset_owner.get(asset.id, ""))
            metadata["modelId"] = owner.model_id if owner else DEFAULT_MODEL
        return {"id": asset.id, "authorId": AUTHOR_ID, "ownerId": OWNER_ID, "collectionIds": [],
                "createdAt": iso(asset.created), "updatedAt": iso(asset.created),
                "editCapabilities": [], "kind": asset.kind, "metadata": metadata,
                "mimeType": asset.mime_type, "privacy": "private", "properties": properties,
                "source": "txt2video" if video else "uploaded", "status": status, "tags": [],
                "url": url}

    def _get_asset(self, request: Request) -> Response:
        asset = self._visible_asset(request.params["asset_id"])
        if asset is None:
            return self._error(404, f"Asset {request.params['asset_id']} not found")
        return json_response(200, {"asset": self._asset_json(asset, request.origin)})

    def _get_bulk(self, request: Request) -> Response:
        try:
            ids = request.json().get("assetIds")
        except (ValueError, AttributeError):
            ids = None
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            return self._error(400, '"assetIds" must be a list of asset ids')
        if not 1 <= len(ids) <= MAX_BULK:
            return self._error(400, f'"assetIds" must hold between 1 and {MAX_BULK} ids')
        found = [a for a in (self._visible_asset(i) for i in dict.fromkeys(ids)) if a is not None]
        return json_response(200, {"assets": [self._asset_json(a, request.origin) for a in found]})

    def _upload(self, request: Request) -> Response:
        try:
            payload = request.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or not isinstance(payload.get("name"), str):
            return self._error(400, 'An upload needs "name" (the file name) and "image" (base64)')
        image = payload.get("image")
        if not isinstance(image, str):
            return self._error(400, '"image" must be a base64 string')
        try:
            data = base64.b64decode(image.split(",", 1)[1] if image.startswith("data:") else image,
                                    validate=True)
        except (binascii.Error, ValueError):
            return self._error(400, '"image" is not valid base64')
        if media.image_info(data) is None:
            return self._error(400, "Unsupported image: send a PNG, JPEG or WebP file")
        asset = self.assets[self._store_image(data, payload["name"])]
        return json_response(200, {"asset": self._asset_json(asset, request.origin)})

    def _store_image(self, data: bytes, name: str) -> str:
        mime, width, height = media.image_info(data) or ("image/png", None, None)
        asset = SimAsset(new_id(self._dice.rng, "asset_"), "image", mime, data, self.clock(), name,
                         width=width, height=height)
        self.assets[asset.id] = asset
        return asset.id

    def _team_limits(self, request: Request) -> Response:
        """The team's limits in the SDK's shape; `parallelCustomJobs` is the ceiling."""
        if request.params["team_id"] != OWNER_ID:
            return self._error(404, f"Team {request.params['team_id']} not found")
        return json_response(200, model.team_limits(self.ceiling, iso(self._started)))

    def _get_model(self, request: Request) -> Response:
        served = self.models.get(request.params["model_id"])
        if served is None:
            return self._error(404, f"Model {request.params['model_id']} not found")
        document = model.model_document(served, self.inputs[served.id], iso(self._started))
        return json_response(200, {"model": document})

    # -- the CDN ---------------------------------------------------------------------------

    def _cdn(self, request: Request) -> Response:
        name = request.path[len("/cdn/"):]
        asset_id = name.rsplit(".", 1)[0]
        try:
            expires = int(request.query.get("expires", ""))
        except ValueError:
            return Response(403, b"Forbidden: missing or malformed signature", "text/plain")
        if not media.signature_ok(self._url_secret, asset_id, expires, request.query.get("sig", "")):
            return Response(403, b"Forbidden: bad signature", "text/plain")
        if self.clock() * 1000 > expires or self._dice.chance(self.faults.expire):
            self.counters.expired += 1
            return Response(403, b"Forbidden: the signed URL has expired", "text/plain")
        asset = self.assets.get(asset_id)
        if asset is None or asset.pending(self.clock()):
            return Response(404, b"Not found", "text/plain")
        if self._dice.chance(self.faults.truncate):
            self.counters.dropped += 1
            return Response(200, asset.data, asset.mime_type, drop=True)
        if asset.first_download is None:
            asset.first_download = self.clock()
        return Response(200, asset.data, asset.mime_type,
                        {"cache-control": f"private, max-age={math.floor(self.url_lifetime)}"})
