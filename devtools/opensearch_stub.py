"""A local OpenSearch endpoint for tests and the demo: it checks what a real domain checks.

There is no OpenSearch server on the machine, so the bulk loader is tested against this one. It is
strict where a client can go wrong:

- every request must carry a valid SigV4 signature (recomputed with botocore from the known
  credentials, with the region and service of the domain, a fresh X-Amz-Date and a body hash that
  matches the body), as an Amazon OpenSearch Service domain with IAM access does;
- ``_bulk`` bodies must be NDJSON: newline-terminated, one JSON object per line, an action line
  (index/create/update/delete) followed by a source line when the action takes one;
- documents are checked against the mapping of the index template that matches their index (types
  date, ip, long/integer/short/byte, keyword/text, boolean; ``dynamic: strict``; ``ignore_malformed``),
  and rejected per item with ``mapper_parsing_exception`` as OpenSearch does.

Documents are stored by ``_index``/``_id`` (re-indexing an id overwrites it and bumps its version).
Tests can make it answer like a loaded cluster: whole requests with 429/503 or a dropped connection,
and chosen items with per-item errors (``inject_request_errors``, ``inject_disconnects``,
``inject_item_errors``), answer late (``inject_slow_responses``), and refuse bodies over
``max_content_length`` with 413. ``_refresh``, ``_count``, ``_mget``, ``GET _doc`` and ``DELETE index`` let a
test read back what was loaded with the same HTTP calls it would make to a real cluster.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import hmac
import ipaddress
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, unquote

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)"
    r"/aws4_request, ?SignedHeaders=(?P<headers>[^,]+), ?Signature=(?P<signature>[0-9a-f]{64})"
)
_MAX_CLOCK_SKEW = dt.timedelta(minutes=15)
_ACTIONS_WITH_SOURCE = {"index", "create", "update"}
ItemMatcher = Callable[[str, str | None, dict[str, Any] | None], bool]
"""(index, id, source) -> whether an injected item error applies to this item."""


class _HttpError(Exception):
    def __init__(self, status: int, error_type: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.body = {
            "error": {
                "root_cause": [{"type": error_type, "reason": reason}],
                "type": error_type,
                "reason": reason,
            },
            "status": status,
        }


@dataclass
class _ItemFault:
    status: int
    error_type: str
    reason: str
    remaining: int
    matches: ItemMatcher | None


@dataclass
class _Request:
    method: str
    parts: list[str]  # the path's segments, unquoted
    params: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class StoredDocument:
    source: dict[str, Any]
    version: int = 1


@dataclass
class OpenSearchStub:
    """``with OpenSearchStub({"AKID": "secret"}) as stub: ... stub.url ...``"""

    credentials: dict[str, str]
    region: str = "us-east-1"
    service: str = "es"
    keep_sources: bool = True
    """False: check and count documents but keep no _source (benchmarks with millions of them)."""
    indices: dict[str, dict[str, StoredDocument]] = field(default_factory=dict)
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)
    pipelines: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    """(method, path) of every request that passed the signature check."""
    rejected_requests: list[str] = field(default_factory=list)
    """Why requests were refused (signature, framing): a well-behaved client leaves this empty."""
    bulk_bodies: int = 0
    bulk_items: int = 0
    max_content_length: int | None = None
    """OpenSearch's ``http.max_content_length``: a larger request body is answered 413 unread (Amazon
    OpenSearch Service fixes it by instance type, 10 MiB on the small ones)."""

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        # (status, path or None for any) to answer next; status 0 = drop the connection
        self._request_faults: list[tuple[int, str | None]] = []
        self._item_faults: list[_ItemFault] = []
        self._slow_responses: list[tuple[float, str | None]] = []  # (seconds, path or None for any)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> OpenSearchStub:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        stub = self

        class Handler(_Handler):
            owner = stub

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="opensearch-stub", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # -- fault injection ---------------------------------------------------------------------
    def inject_request_errors(self, status: int, count: int = 1, path: str | None = "/_bulk") -> None:
        """Answer the next ``count`` requests to ``path`` (None: any) with ``status`` (429, 503 ...)."""
        with self._lock:
            self._request_faults.extend([(status, path)] * count)

    def inject_disconnects(self, count: int = 1, path: str | None = "/_bulk") -> None:
        """Close the connection without an answer on the next ``count`` requests to ``path``."""
        with self._lock:
            self._request_faults.extend([(0, path)] * count)

    def inject_slow_responses(self, seconds: float, count: int = 1, path: str | None = "/_bulk") -> None:
        """Handle the next ``count`` requests to ``path`` fully, then wait ``seconds`` before answering:
        a client that times out has had its request applied (what a lost response looks like)."""
        with self._lock:
            self._slow_responses.extend([(seconds, path)] * count)

    def inject_item_errors(
        self,
        status: int,
        error_type: str,
        count: int = 1,
        reason: str = "injected by the test",
        matches: ItemMatcher | None = None,
    ) -> None:
        """Fail the next ``count`` bulk items (that ``matches`` accepts) with this status and error."""
        with self._lock:
            self._item_faults.append(_ItemFault(status, error_type, reason, count, matches))

    # -- reading back ------------------------------------------------------------------------
    def all_documents(self) -> dict[tuple[str, str], dict[str, Any]]:
        """{(index, id): source} of every stored document."""
        with self._lock:
            return {
                (index, doc_id): doc.source
                for index, docs in self.indices.items()
                for doc_id, doc in docs.items()
            }

    # -- request handling (called from the server threads) -------------------------------------
    def _take_fault(self, faults: list[tuple[Any, str | None]], path: str) -> Any:
        """Remove and return the value of the first fault queued for ``path`` (or any path), or None."""
        with self._lock:
            for position, (value, fault_path) in enumerate(faults):
                if fault_path is None or fault_path == path:
                    del faults[position]
                    return value
        return None

    def _next_request_fault(self, path: str) -> int | None:
        return self._take_fault(self._request_faults, path)

    def _next_slow_response(self, path: str) -> float:
        return self._take_fault(self._slow_responses, path) or 0.0

    def _item_fault(self, index: str, doc_id: str | None, source: dict[str, Any] | None) -> _ItemFault | None:
        with self._lock:
            for fault in self._item_faults:
                if fault.remaining > 0 and (fault.matches is None or fault.matches(index, doc_id, source)):
                    fault.remaining -= 1
                    return fault
        return None

    def check_signature(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> None:
        """Raise _HttpError(403) unless the request is SigV4-signed by a known key for this domain."""
        match = _AUTHORIZATION.fullmatch(headers.get("authorization", ""))
        if match is None:
            raise _HttpError(403, "security_exception", "missing or malformed SigV4 Authorization header")
        secret = self.credentials.get(match["key"])
        if secret is None:
            raise _HttpError(403, "security_exception", f"unknown access key {match['key']}")
        if (match["region"], match["service"]) != (self.region, self.service):
            scope = f"{match['region']}/{match['service']}"
            raise _HttpError(
                403, "security_exception", f"scope {scope}, expected {self.region}/{self.service}"
            )
        amz_date = headers.get("x-amz-date", "")
        try:
            signed_at = dt.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
        except ValueError:
            raise _HttpError(403, "security_exception", f"bad X-Amz-Date {amz_date!r}") from None
        if abs(dt.datetime.now(dt.UTC) - signed_at) > _MAX_CLOCK_SKEW or amz_date[:8] != match["date"]:
            raise _HttpError(403, "security_exception", "signature expired or dated outside its scope")
        signed = match["headers"].split(";")
        if "host" not in signed or "x-amz-date" not in signed:
            raise _HttpError(403, "security_exception", "host and x-amz-date must be signed")
        content_sha256 = headers.get("x-amz-content-sha256")
        if content_sha256 is not None and content_sha256 != hashlib.sha256(body).hexdigest():
            raise _HttpError(403, "security_exception", "x-amz-content-sha256 does not match the body")
        path, _, query = raw_path.partition("?")
        request = AWSRequest(
            method=method,
            url=f"http://{headers.get('host', '')}{path}",
            headers={name: headers.get(name, "") for name in signed},
            data=body,
            params=parse_qsl(query, keep_blank_values=True),
        )
        request.context["timestamp"] = amz_date
        token = headers.get("x-amz-security-token")
        signer = SigV4Auth(Credentials(match["key"], secret, token), self.service, self.region)
        expected = signer.signature(
            signer.string_to_sign(request, signer.canonical_request(request)), request
        )
        if not hmac.compare_digest(expected, match["signature"]):
            raise _HttpError(403, "security_exception", "the request signature does not match")

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        """Route one signed request; returns (status, JSON body)."""
        path, _, query = raw_path.partition("?")
        request = _Request(
            method=method,
            parts=[unquote(p) for p in path.strip("/").split("/") if p],
            params=dict(parse_qsl(query, keep_blank_values=True)),
            headers=headers,
            body=body,
        )
        with self._lock:
            self.requests.append((method, path))
        for applies, route in _ROUTES:
            if applies(request):
                return route(self, request)
        raise _HttpError(400, "illegal_argument_exception", f"the stub does not implement {method} {path}")

    def _root(self, request: _Request) -> tuple[int, Any]:
        return 200, {"version": {"distribution": "opensearch", "number": "2.13.0"}, "tagline": "stub"}

    def _bulk_route(self, request: _Request) -> tuple[int, Any]:
        default_index = request.parts[0] if len(request.parts) == 2 else None
        response = self._bulk(request.headers, request.body, default_index)
        return 200, _filter(response, request.params.get("filter_path"))

    def _template(self, request: _Request) -> tuple[int, Any]:
        name = request.parts[1]
        body = self._put_or_get(self.templates, request)
        return 200, (
            {"index_templates": [{"name": name, "index_template": body}]} if body else {"acknowledged": True}
        )

    def _pipeline(self, request: _Request) -> tuple[int, Any]:
        body = self._put_or_get(self.pipelines, request)
        return 200, ({request.parts[2]: body} if body else {"acknowledged": True})

    def _put_or_get(self, store: dict[str, dict[str, Any]], request: _Request) -> dict[str, Any] | None:
        """PUT stores the body and returns None; GET returns the stored body."""
        name = request.parts[-1]
        with self._lock:
            if request.method == "PUT":
                store[name] = json.loads(request.body)
                return None
            if request.method == "GET" and name in store:
                return store[name]
        raise _HttpError(404, "resource_not_found_exception", f"{name} not found")

    def _refresh(self, request: _Request) -> tuple[int, Any]:
        return 200, {"_shards": {"total": 1, "successful": 1, "failed": 0}}

    def _count(self, request: _Request) -> tuple[int, Any]:
        with self._lock:
            count = sum(
                len(docs) for index, docs in self.indices.items() if _matches(index, request.parts[0])
            )
        return 200, {"count": count}

    def _mget(self, request: _Request) -> tuple[int, Any]:
        return 200, {"docs": [self._get(d["_index"], d["_id"]) for d in json.loads(request.body)["docs"]]}

    def _doc(self, request: _Request) -> tuple[int, Any]:
        found = self._get(request.parts[0], request.parts[2])
        return (200 if found["found"] else 404), found

    def _delete_index(self, request: _Request) -> tuple[int, Any]:
        with self._lock:
            existed = self.indices.pop(request.parts[0], None) is not None
        if not existed:
            raise _HttpError(404, "index_not_found_exception", f"no such index [{request.parts[0]}]")
        return 200, {"acknowledged": True}

    def _get(self, index: str, doc_id: str) -> dict[str, Any]:
        with self._lock:
            doc = self.indices.get(index, {}).get(doc_id)
        if doc is None:
            return {"_index": index, "_id": doc_id, "found": False}
        return {"_index": index, "_id": doc_id, "_version": doc.version, "found": True, "_source": doc.source}

    def _bulk(self, headers: dict[str, str], body: bytes, default_index: str | None) -> dict[str, Any]:
        content_type = headers.get("content-type", "").split(";")[0].strip()
        if content_type not in {"application/x-ndjson", "application/json"}:
            raise _HttpError(
                406, "illegal_argument_exception", f"Content-Type [{content_type}] is not supported"
            )
        if not body.endswith(b"\n"):
            raise _HttpError(
                400, "illegal_argument_exception", "The bulk request must be terminated by a newline [\\n]"
            )
        lines = body[:-1].split(b"\n")
        items: list[dict[str, Any]] = []
        position = 0
        while position < len(lines):
            action_line = _json_object(lines[position], position)
            if len(action_line) != 1:
                raise _HttpError(
                    400, "illegal_argument_exception", f"Malformed action/metadata line [{position + 1}]"
                )
            ((action, meta),) = action_line.items()
            if action not in _ACTIONS_WITH_SOURCE | {"delete"} or not isinstance(meta, dict):
                raise _HttpError(
                    400, "illegal_argument_exception", f"Unknown action [{action}] on line [{position + 1}]"
                )
            source = None
            if action in _ACTIONS_WITH_SOURCE:
                if position + 1 >= len(lines):
                    raise _HttpError(
                        400, "illegal_argument_exception", "action without a source line at the end"
                    )
                source = _json_object(lines[position + 1], position + 1)
            position += 2 if source is not None else 1
            items.append({action: self._bulk_item(action, meta, source, default_index)})
        with self._lock:
            self.bulk_bodies += 1
            self.bulk_items += len(items)
        errors = any(result["status"] >= 300 for item in items for result in item.values())
        return {"took": 1, "errors": errors, "items": items}

    def _bulk_item(
        self, action: str, meta: dict[str, Any], source: dict[str, Any] | None, default_index: str | None
    ) -> dict[str, Any]:
        index = meta.get("_index", default_index)
        doc_id = meta.get("_id")
        if not isinstance(index, str) or index != index.lower() or not index:
            return _item_error(
                str(index), doc_id, 400, "invalid_index_name_exception", "bad or missing _index"
            )
        fault = self._item_fault(index, doc_id, source)
        if fault is not None:
            return _item_error(index, doc_id, fault.status, fault.error_type, fault.reason)
        if source is not None and action in {"index", "create"}:
            problem = self._mapping_problem(index, source)
            if problem is not None:
                return _item_error(index, doc_id, 400, *problem)
        with self._lock:
            docs = self.indices.setdefault(index, {})
            if doc_id is None:
                doc_id = f"auto-{self.bulk_items}-{len(docs)}"
            existing = docs.get(doc_id)
            if action == "delete":
                docs.pop(doc_id, None)
                status, result = (200, "deleted") if existing else (404, "not_found")
                version = existing.version + 1 if existing else 1
            elif action == "create" and existing is not None:
                return _item_error(
                    index, doc_id, 409, "version_conflict_engine_exception", "document already exists"
                )
            elif action == "update":
                if existing is None:
                    return _item_error(index, doc_id, 404, "document_missing_exception", "document missing")
                existing.source.update((source or {}).get("doc", {}))
                existing.version += 1
                status, result, version = 200, "updated", existing.version
            else:
                version = existing.version + 1 if existing else 1
                docs[doc_id] = StoredDocument((source or {}) if self.keep_sources else {}, version)
                status, result = (200, "updated") if existing else (201, "created")
        return {"_index": index, "_id": doc_id, "_version": version, "result": result, "status": status}

    def _mapping_problem(self, index: str, source: dict[str, Any]) -> tuple[str, str] | None:
        """(error type, reason) if the document does not fit its index template's mapping."""
        with self._lock:
            candidates = [
                t
                for t in self.templates.values()
                if any(_matches(index, p) for p in t.get("index_patterns", []))
            ]
        if not candidates:
            return None
        template = max(candidates, key=lambda t: t.get("priority", 0))
        mappings = template.get("template", {}).get("mappings", {})
        properties: dict[str, Any] = mappings.get("properties", {})
        for name, value in source.items():
            spec = properties.get(name)
            if spec is None:
                if mappings.get("dynamic") == "strict":
                    return (
                        "strict_dynamic_mapping_exception",
                        f"mapping set to strict, dynamic introduction of [{name}] is not allowed",
                    )
                continue
            if (
                value is not None
                and not spec.get("ignore_malformed", False)
                and not _fits(spec.get("type", "object"), value)
            ):
                return (
                    "mapper_parsing_exception",
                    f"failed to parse field [{name}] of type [{spec.get('type')}]",
                )
        return None


def _is_integer_in(low: int, high: int) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _is_ip(value: Any) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _is_date(value: Any) -> bool:
    if isinstance(value, int):
        return True  # epoch milliseconds
    try:
        dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return False
    return True


_TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "byte": _is_integer_in(-(2**7), 2**7 - 1),
    "short": _is_integer_in(-(2**15), 2**15 - 1),
    "integer": _is_integer_in(-(2**31), 2**31 - 1),
    "long": _is_integer_in(-(2**63), 2**63 - 1),
    "keyword": lambda value: isinstance(value, str),
    "text": lambda value: isinstance(value, str),
    "boolean": lambda value: isinstance(value, bool),
    "ip": _is_ip,
    "date": _is_date,
}


def _fits(field_type: str, value: Any) -> bool:
    check = _TYPE_CHECKS.get(field_type)
    return check is None or check(value)


def _json_object(line: bytes, position: int) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except ValueError as error:
        raise _HttpError(400, "x_content_parse_exception", f"line [{position + 1}]: {error}") from None
    if not isinstance(value, dict):
        raise _HttpError(400, "x_content_parse_exception", f"line [{position + 1}] is not a JSON object")
    return value


def _item_error(index: str, doc_id: str | None, status: int, error_type: str, reason: str) -> dict[str, Any]:
    return {"_index": index, "_id": doc_id, "status": status, "error": {"type": error_type, "reason": reason}}


def _matches(index: str, pattern: str) -> bool:
    return any(fnmatch.fnmatchcase(index, p) for p in pattern.split(","))


def _filter(response: dict[str, Any], filter_path: str | None) -> dict[str, Any]:
    """OpenSearch's ``filter_path`` for the shapes bulk clients use: ``errors,items.*.status``."""
    if not filter_path:
        return response
    paths = [p.split(".") for p in filter_path.split(",")]
    result: dict[str, Any] = {k: v for k, v in response.items() if [k] in paths}
    item_fields = {p[2] for p in paths if len(p) == 3 and p[0] == "items" and p[1] == "*"}
    if item_fields:
        result["items"] = [
            {action: {k: v for k, v in fields.items() if k in item_fields} for action, fields in item.items()}
            for item in response["items"]
        ]
    return result


_ROUTES: list[tuple[Callable[[_Request], bool], Callable[[OpenSearchStub, _Request], tuple[int, Any]]]] = [
    (lambda r: r.method == "GET" and not r.parts, OpenSearchStub._root),
    (lambda r: r.parts[-1:] == ["_bulk"] and r.method in {"POST", "PUT"}, OpenSearchStub._bulk_route),
    (lambda r: r.parts[:1] == ["_index_template"] and len(r.parts) == 2, OpenSearchStub._template),
    (lambda r: r.parts[:2] == ["_ingest", "pipeline"] and len(r.parts) == 3, OpenSearchStub._pipeline),
    (lambda r: r.parts[-1:] == ["_refresh"], OpenSearchStub._refresh),
    (lambda r: r.parts[-1:] == ["_count"] and len(r.parts) == 2, OpenSearchStub._count),
    (lambda r: r.parts == ["_mget"] and r.method in {"GET", "POST"}, OpenSearchStub._mget),
    (lambda r: len(r.parts) == 3 and r.parts[1] == "_doc" and r.method == "GET", OpenSearchStub._doc),
    (lambda r: len(r.parts) == 1 and r.method == "DELETE", OpenSearchStub._delete_index),
]


class _Handler(BaseHTTPRequestHandler):
    owner: OpenSearchStub
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without TCP_NODELAY, Nagle's algorithm and the client's
    # delayed ACK hold every keep-alive response back ~40 ms.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests assert on the stub's state, not on its access log."""

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        stub = self.owner
        body = self.rfile.read(length) if length else b""
        if stub.max_content_length is not None and length > stub.max_content_length:
            self._answer_too_large(length)
            return
        headers = {name.lower(): value for name, value in self.headers.items()}
        path = self.path.partition("?")[0]
        fault = stub._next_request_fault(path)
        if fault == 0:
            self.close_connection = True
            self.connection.shutdown(2)
            return
        try:
            stub.check_signature(self.command, self.path, headers, body)
            if fault is not None:
                raise _HttpError(
                    fault,
                    "es_rejected_execution_exception" if fault == 429 else "unavailable",
                    f"injected {fault}",
                )
            status, payload = stub.handle(self.command, self.path, headers, body)
        except _HttpError as error:
            if error.status in {400, 403, 406}:
                with stub._lock:
                    stub.rejected_requests.append(f"{self.command} {self.path}: {error}")
            status, payload = error.status, error.body
        delay = stub._next_slow_response(path)
        if delay:
            time.sleep(delay)
        self._answer(status, payload)

    def _answer_too_large(self, length: int) -> None:
        """413 without looking at the body (read only so that the client sees the answer)."""
        self._answer(
            413,
            {
                "error": {
                    "type": "content_too_long_exception",
                    "reason": f"request of {length} bytes > {self.owner.max_content_length}",
                },
                "status": 413,
            },
        )

    def _answer(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _serve
