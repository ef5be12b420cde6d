"""Signed HTTP to OpenSearch: SigV4 with the function's own role, through requests-aws4auth."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import boto3
import requests
from requests_aws4auth import AWS4Auth

from logpipes.es_bulk_loader.settings import OpenSearchSettings

# (connect, read) seconds: a 5 MB bulk request can take a while to be indexed on a small domain.
CONNECT_TIMEOUT, READ_TIMEOUT = 5.0, 120.0
TIMEOUT = (CONNECT_TIMEOUT, READ_TIMEOUT)


class OpenSearchError(RuntimeError):
    """OpenSearch answered a request with an error status."""

    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        super().__init__(f"{method} {path} -> HTTP {status}: {body[:1000]}")
        self.status = status


def sigv4_auth(service: str, region: str, session: boto3.Session | None = None) -> AWS4Auth:
    """SigV4 signing with the credentials boto3 finds (the Lambda role's, refreshed as they rotate)."""
    credentials = (session or boto3.Session()).get_credentials()
    if credentials is None:
        raise RuntimeError("no AWS credentials found to sign OpenSearch requests")
    return AWS4Auth(refreshable_credentials=credentials, service=service, region=region)


def canonical_query(params: dict[str, str]) -> str:
    """A query string already in SigV4 canonical form, so no layer re-encodes it differently."""
    return "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(params.items()))


class OpenSearchHttp:
    """A keep-alive HTTP session to one cluster, every request signed."""

    def __init__(self, endpoint: str, auth: requests.auth.AuthBase) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.auth = auth
        self.session = requests.Session()

    @classmethod
    def from_settings(cls, settings: OpenSearchSettings) -> OpenSearchHttp:
        """A session to the settings' endpoint, signed with SigV4 for their service and region."""
        return cls(settings.endpoint, sigv4_auth(settings.service, settings.region))

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        params: dict[str, str] | None = None,
        content_type: str = "application/json",
        timeout: tuple[float, float] = TIMEOUT,
    ) -> requests.Response:
        """Send one request; connection errors and timeouts propagate as requests exceptions."""
        url = f"{self.endpoint}{path}"
        if params:
            url = f"{url}?{canonical_query(params)}"
        return self.session.request(
            method, url, data=body, headers={"Content-Type": content_type}, auth=self.auth, timeout=timeout
        )

    def put_json(self, path: str, document: dict[str, Any]) -> dict[str, Any]:
        """PUT a JSON document (idempotent API calls: templates, pipelines); raise on error."""
        response = self.request("PUT", path, json.dumps(document).encode())
        if response.status_code >= 300:
            raise OpenSearchError("PUT", path, response.status_code, response.text)
        return dict(response.json())
