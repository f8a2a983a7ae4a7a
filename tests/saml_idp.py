"""A SAML identity provider for the sign-in tests, made with pysaml2's own IdP side: a key and a self-signed
certificate of its own, metadata for Banso to load, and signed responses to the AuthnRequests Banso sends."""
from __future__ import annotations

import base64
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

ENTITY = "https://adfs.mof.example/adfs/services/trust"
SSO = "https://adfs.mof.example/adfs/ls/"


def available() -> bool:
    return shutil.which("xmlsec1") is not None


def _key_and_certificate(folder: Path, name: str) -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "adfs.mof.example")])
    at = datetime.now(timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(at - timedelta(days=1))
                   .not_valid_after(at + timedelta(days=30)).sign(key, hashes.SHA256()))
    key_file, cert_file = folder / f"{name}.key", folder / f"{name}.crt"
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return str(key_file), str(cert_file)


class IdentityProvider:
    def __init__(self, folder: Path, name: str = "idp"):
        self.key_file, self.cert_file = _key_and_certificate(folder, name)
        self.server = None

    def _config(self, sp_metadata: str | None):
        from saml2 import BINDING_HTTP_REDIRECT
        from saml2.config import IdPConfig
        from saml2.saml import NAME_FORMAT_URI, NAMEID_FORMAT_PERSISTENT

        config = IdPConfig()
        config.load({
            "entityid": ENTITY,
            "service": {"idp": {"endpoints": {"single_sign_on_service": [(SSO, BINDING_HTTP_REDIRECT)]},
                                "policy": {"default": {"lifetime": {"minutes": 15}, "attribute_restrictions": None,
                                                       "name_form": NAME_FORMAT_URI}},
                                "name_id_format": [NAMEID_FORMAT_PERSISTENT]}},
            "key_file": self.key_file, "cert_file": self.cert_file,
            "metadata": {"inline": [sp_metadata]} if sp_metadata else {},
            "xmlsec_binary": shutil.which("xmlsec1"),
        })
        return config

    def metadata(self) -> str:
        from saml2.metadata import create_metadata_string

        return create_metadata_string(None, config=self._config(None), valid=24).decode()

    def trust(self, sp_metadata: str) -> None:
        from saml2.server import Server

        self.server = Server(config=self._config(sp_metadata))

    def answer(self, location: str, *, subject: str, attributes: dict, sp_entity: str) -> str:
        """The signed SAMLResponse (base64) to the AuthnRequest in ``location`` (Banso's redirect)."""
        from saml2 import BINDING_HTTP_REDIRECT
        from saml2.saml import NAMEID_FORMAT_PERSISTENT, NameID

        query = parse_qs(urlsplit(location).query)
        request = self.server.parse_authn_request(query["SAMLRequest"][0], BINDING_HTTP_REDIRECT)
        response = self.server.create_authn_response(
            identity=attributes, in_response_to=request.message.id,
            destination=request.message.assertion_consumer_service_url, sp_entity_id=sp_entity,
            name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text=subject), sign_assertion=True,
            authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
                   "authn_auth": ENTITY})
        return base64.b64encode(str(response).encode()).decode()
