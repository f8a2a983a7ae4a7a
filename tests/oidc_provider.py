"""A small OpenID Connect provider on loopback for the sign-in tests: discovery, an authorization endpoint that signs
in whoever the test names (no page), a token endpoint that checks the client's secret and the PKCE verifier, and a
key set that can be rotated or taken down. Real HTTP: Banso's Authlib client talks to it as to Entra ID."""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from urllib.parse import urlencode

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


class Provider:
    def __init__(self, *, tenant: str, client_id: str = "banso", client_secret: str = "s3cret"):
        self.tenant, self.client_id, self.client_secret = tenant, client_id, client_secret
        self.keys = [self._key()]
        self.published: list | None = None  # what the key set shows, when not the signing keys (a forged token's test)
        self.person: dict = {}  # the claims of whoever signs in next
        self.codes: dict = {}
        self.down = False
        self.token_requests: list[dict] = []
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}/{tenant}/v2.0"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @staticmethod
    def _key() -> RSAKey:
        return RSAKey.generate_key(2048, parameters={"kid": secrets.token_hex(4), "use": "sig", "alg": "RS256"})

    def rotate(self) -> None:
        """A new signing key; the old one leaves the published set."""
        self.keys = [self._key()]

    def stop(self) -> None:
        self._server.shutdown()

    def config(self, name: str, label: str, **extra) -> dict:
        return {"name": name, "label": label, "discovery": f"{self.url}/.well-known/openid-configuration",
                "client_id": self.client_id, "client_secret": self.client_secret, "tenant": self.tenant, **extra}

    def _app(self, environ, start_response):
        request = Request(environ)
        if self.down:
            return Response("down", status=503)(environ, start_response)
        route = request.path.removeprefix(f"/{self.tenant}/v2.0")
        handler = {"/.well-known/openid-configuration": self._discovery, "/authorize": self._authorize,
                   "/token": self._token, "/keys": self._keys}.get(route)
        response = handler(request) if handler else Response("not found", status=404)
        return response(environ, start_response)

    def _json(self, data, status: int = 200) -> Response:
        return Response(json.dumps(data), status=status, content_type="application/json")

    def _discovery(self, _request) -> Response:
        return self._json({"issuer": self.url, "authorization_endpoint": f"{self.url}/authorize",
                           "token_endpoint": f"{self.url}/token", "jwks_uri": f"{self.url}/keys",
                           "response_types_supported": ["code"], "subject_types_supported": ["pairwise"],
                           "id_token_signing_alg_values_supported": ["RS256"],
                           "code_challenge_methods_supported": ["S256"]})

    def _keys(self, _request) -> Response:
        return self._json(KeySet(self.published or self.keys).as_dict(private=False))

    def _authorize(self, request: Request) -> Response:
        args = request.args
        if args.get("client_id") != self.client_id or args.get("code_challenge_method") != "S256":
            return Response("bad request", status=400)
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"person": dict(self.person), "nonce": args.get("nonce"), "redirect_uri": args["redirect_uri"],
                            "challenge": args.get("code_challenge")}
        return Response(status=302, headers={"Location": f"{args['redirect_uri']}?{urlencode({'code': code, 'state': args['state']})}"})

    def _token(self, request: Request) -> Response:
        form = request.form
        self.token_requests.append(dict(form))
        grant = self.codes.pop(form.get("code", ""), None)
        basic = request.authorization
        secret_ok = (basic is not None and basic.username == self.client_id and basic.password == self.client_secret) or (
            form.get("client_id") == self.client_id and form.get("client_secret") == self.client_secret)
        if grant is None or not secret_ok or form.get("redirect_uri") != grant["redirect_uri"]:
            return self._json({"error": "invalid_grant"}, 400)
        verifier = form.get("code_verifier", "")
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if digest != grant["challenge"]:
            return self._json({"error": "invalid_grant", "error_description": "PKCE"}, 400)
        at = int(time.time())
        claims = {"iss": self.url, "aud": self.client_id, "iat": at, "exp": at + 300, "nonce": grant["nonce"],
                  "tid": self.tenant, **grant["person"]}
        key = self.keys[0]
        id_token = jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)
        return self._json({"access_token": secrets.token_urlsafe(16), "token_type": "Bearer", "expires_in": 300,
                           "id_token": id_token})
