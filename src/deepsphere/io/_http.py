"""One HTTP download attempt for :mod:`deepsphere.io.download`: resume with ``Range``, and sort
failures into transient (retry), permanent (gated or gone) and "Range not satisfiable"."""

from __future__ import annotations

import http.client
import socket
import urllib.error
import urllib.request
from pathlib import Path

from tqdm import tqdm

__all__ = ["Transient", "Unreachable", "Permanent", "RangeNotSatisfiable", "download_once"]

_CHUNK = 1 << 20  # bytes per read
_PERMANENT = {401: "gated", 403: "gated", 404: "gone", 410: "gone"}
_USER_AGENT = "deepsphere-download/0.1 (+https://github.com/deepsphere)"


class Transient(Exception):
    """A failure worth retrying."""


class Unreachable(Transient):
    """No server answered: connection refused, or the host name does not exist. Retried like any
    transient failure, but a URL that fails only this way on every attempt counts as dead."""


# "Name or service not known" / "No address associated with hostname": the name does not exist
# (unlike EAI_AGAIN, "Temporary failure in name resolution", e.g. while offline).
_NO_SUCH_HOST = {getattr(socket, n) for n in ("EAI_NONAME", "EAI_NODATA") if hasattr(socket, n)}


def _unreachable(err: BaseException) -> bool:
    reason = getattr(err, "reason", err)  # URLError wraps the socket error
    if isinstance(reason, ConnectionRefusedError):
        return True
    return isinstance(reason, socket.gaierror) and reason.errno in _NO_SUCH_HOST


class Permanent(Exception):
    """A failure not worth retrying for this URL: ``kind`` is ``"gated"`` or ``"gone"``."""

    def __init__(self, message: str, kind: str):
        super().__init__(message)
        self.kind = kind


class RangeNotSatisfiable(Exception):
    """HTTP 416 for our ``Range``: the ``.part`` is already complete, or is not a prefix."""


def download_once(
    url: str, part: Path, *, timeout: float, progress: bool, name: str, gated: bool
) -> None:
    """One attempt: append to ``part`` from its current size (HTTP Range), or restart at 0."""
    offset = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416 and offset:
            raise RangeNotSatisfiable() from None
        if err.code in _PERMANENT:
            raise Permanent(f"{url} answered HTTP {err.code} {err.reason}",
                             _PERMANENT[err.code]) from None
        raise Transient(f"{url} answered HTTP {err.code} {err.reason}") from None
    except (urllib.error.URLError, OSError) as err:
        raise (Unreachable if _unreachable(err) else Transient)(f"{url}: {err}") from None
    with response:
        content_type = response.headers.get("Content-Type", "")
        if gated and content_type.startswith("text/html") and not name.endswith((".html", ".htm")):
            # Gated hosts often answer 200 with a login/request-access page instead of 403.
            raise Permanent(f"{url} answered an HTML page (a login or access-request page?) "
                             "instead of the file", "gated")
        if offset and response.status == 206:
            content_range = response.headers.get("Content-Range", "")
            if not content_range.startswith(f"bytes {offset}-"):
                raise Transient(f"{url}: unexpected Content-Range {content_range!r}")
            mode = "ab"
        else:  # 200: the server ignored Range, start over
            offset, mode = 0, "wb"
        length = response.headers.get("Content-Length")
        expected = int(length) if length is not None else None
        received = 0
        try:
            with (
                open(part, mode) as f,
                tqdm(total=None if expected is None else offset + expected, initial=offset,
                     unit="B", unit_scale=True, disable=not progress, desc=name) as bar,
            ):
                while chunk := response.read(_CHUNK):
                    f.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
        except (OSError, http.client.HTTPException) as err:  # e.g. IncompleteRead, reset
            raise Transient(f"{url}: connection lost after {received} bytes ({err!r})") from None
    if expected is not None and received != expected:
        raise Transient(f"{url}: got {received} of {expected} bytes")
