"""Message signatures as SNS makes them: SignatureVersion 1 is SHA1withRSA, 2 SHA256withRSA,
over ``Envelope.string_to_sign()``, verifiable with the certificate served at
``SigningCertURL``. The key is made per cloud, when the first message is signed."""

from __future__ import annotations

import base64
import datetime
import threading
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from .documents import Signature

_HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}


class Signer:
    def __init__(self) -> None:
        # The certificate's file name looks like SNS's (SimpleNotificationService-<hex>.pem).
        self.cert_name = f"SimpleNotificationService-{uuid.uuid4().hex}.pem"
        self._key: rsa.RSAPrivateKey | None = None
        self._pem = b""
        self._lock = threading.Lock()

    def _ensure_key(self) -> rsa.RSAPrivateKey:
        with self._lock:
            if self._key is None:
                key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
                name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
                now = datetime.datetime.now(datetime.UTC)
                cert = (
                    x509.CertificateBuilder()
                    .subject_name(name)
                    .issuer_name(name)
                    .public_key(key.public_key())
                    .serial_number(x509.random_serial_number())
                    .not_valid_before(now - datetime.timedelta(days=1))
                    .not_valid_after(now + datetime.timedelta(days=365))
                    .sign(key, hashes.SHA256())
                )
                self._pem = cert.public_bytes(serialization.Encoding.PEM)
                self._key = key
            return self._key

    def sign(self, text: str, cert_url: str, version: str = "1") -> Signature:
        key = self._ensure_key()
        algorithm = _HASHES.get(version, hashes.SHA1)()
        value = key.sign(text.encode("utf-8"), padding.PKCS1v15(), algorithm)
        return Signature(version, base64.b64encode(value).decode(), cert_url)

    def pem(self) -> bytes:
        """The signing certificate (PEM)."""
        self._ensure_key()
        return self._pem
