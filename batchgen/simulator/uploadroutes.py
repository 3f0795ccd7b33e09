"""The simulator's multipart upload routes: `POST /uploads`, `GET /uploads/{id}` and
`POST /uploads/{id}/action`, over the flow's rules in uploads.py (parts are PUT to their
signed URLs, answered in app.py's `handle`).

Part of `Simulator` (app.py), whose knobs and state it reads; an imported upload becomes
an image asset through `AssetRoutes._store_image` (assets.py).
"""

from __future__ import annotations

from batchgen.simulator import media, uploads
from batchgen.simulator.http import Request, Response, json_response
from batchgen.simulator.state import AUTHOR_ID, OWNER_ID, new_id


class UploadRoutes:
    """Creating an upload, reading it (imported once its parts are in), completing it."""

    def _part_signed(self, name: str, expires: int, sig: str) -> bool:
        return media.signature_ok(self._url_secret, name, expires, sig)

    def _upload_answer(self, upload: uploads.SimUpload, origin: str) -> Response:
        sign = lambda name, expires: media.sign(self._url_secret, name, expires)  # noqa: E731
        return json_response(200, {"upload": uploads.upload_json(upload, origin, sign,
                                                                 AUTHOR_ID, OWNER_ID)})

    def _create_upload(self, request: Request) -> Response:
        try:
            payload = request.json()
        except ValueError:
            payload = None
        problem = uploads.create_problem(payload)
        if problem:
            return self._error(400, problem)
        now = self.clock()
        upload = uploads.SimUpload(
            new_id(self._dice.rng, "upload_"), payload["fileName"], payload["contentType"],
            int(payload["fileSize"]), payload["kind"], int(payload["parts"]), now,
            int((now + self.url_lifetime / self.time_scale) * 1000))
        self.uploads[upload.id] = upload
        return self._upload_answer(upload, request.origin)

    def _get_upload(self, request: Request) -> Response:
        upload = self.uploads.get(request.params["upload_id"])
        if upload is None:
            return self._error(404, f"Upload {request.params['upload_id']} not found")
        uploads.validate(upload, self.clock(), self._store_image)
        return self._upload_answer(upload, request.origin)

    def _upload_action(self, request: Request) -> Response:
        upload = self.uploads.get(request.params["upload_id"])
        if upload is None:
            return self._error(404, f"Upload {request.params['upload_id']} not found")
        try:
            action = request.json().get("action")
        except (ValueError, AttributeError):
            action = None
        if action != "complete":
            return self._error(400, '"action" must be "complete"')
        problem = uploads.complete(upload, self.clock())
        if problem:
            return self._error(400, problem)
        return self._upload_answer(upload, request.origin)
