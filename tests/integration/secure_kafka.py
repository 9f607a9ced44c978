"""Apache Kafka with a SASL_SSL listener and SCRAM users, as managed Kafka is reached.

The certificates are made here with openssl: a CA, and the broker's key and
certificate (for 127.0.0.1 and localhost) in a PKCS#12 keystore."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

from devkit.kafka_jars import java
from devkit.servers import ApacheKafka, free_port

USER, PASSWORD = "orders", "orders-scram-password-0123456789"
MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512")
KEYSTORE_PASSWORD = "keystore-password"


def make_certificates(folder: Path) -> tuple[Path, Path]:
    """(the CA's certificate, the broker's PKCS#12 keystore)."""
    folder.mkdir(parents=True, exist_ok=True)

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test-ca",
            "-keyout", "ca.key", "-out", "ca.pem")  # fmt: skip
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "broker.key",
            "-out", "broker.csr")  # fmt: skip
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("x509", "-req", "-in", "broker.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "2", "-extfile", "san.ext", "-out", "broker.pem")  # fmt: skip
    openssl("pkcs12", "-export", "-in", "broker.pem", "-inkey", "broker.key", "-certfile", "ca.pem",
            "-name", "broker", "-passout", f"pass:{KEYSTORE_PASSWORD}", "-out", "broker.p12")  # fmt: skip
    return folder / "ca.pem", folder / "broker.p12"


class SecureKafka(ApacheKafka):
    """PLAINTEXT between the broker and itself; SASL_SSL (SCRAM) on ``secure_port`` for clients."""

    def __init__(self, data: Path, keystore: Path, log_path: Path | None = None):
        super().__init__(data, log_path=log_path)
        self.keystore = keystore
        self.secure_port = free_port()

    @property
    def secure_uri(self) -> str:
        return f"{self.host}:{self.secure_port}"

    def _properties(self) -> Path:
        path = super()._properties()
        lines = [
            line
            for line in path.read_text().splitlines()
            if not line.startswith(("listeners=", "advertised.listeners=", "listener.security.protocol.map="))
        ]
        scram = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
        lines += [
            f"listeners=PLAINTEXT://{self.host}:{self.port},SECURE://{self.host}:{self.secure_port},"
            f"CONTROLLER://{self.host}:{self.controller_port}",
            f"advertised.listeners=PLAINTEXT://{self.host}:{self.port},SECURE://{self.host}:{self.secure_port}",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SECURE:SASL_SSL,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name=PLAINTEXT",
            f"listener.name.secure.sasl.enabled.mechanisms={','.join(MECHANISMS)}",
            *(f"listener.name.secure.{m.lower()}.sasl.jaas.config={scram}" for m in MECHANISMS),
            "listener.name.secure.ssl.keystore.type=PKCS12",
            f"listener.name.secure.ssl.keystore.location={self.keystore}",
            f"listener.name.secure.ssl.keystore.password={KEYSTORE_PASSWORD}",
            f"listener.name.secure.ssl.key.password={KEYSTORE_PASSWORD}",
        ]
        path.write_text("\n".join(lines) + "\n")
        return path

    def prepare(self) -> None:
        self.data.mkdir(parents=True, exist_ok=True)
        props = self._properties()
        users = [arg for m in MECHANISMS for arg in ("--add-scram", f"{m}=[name={USER},password={PASSWORD}]")]
        cluster = uuid.uuid4().hex[:22]
        command = [java(), "-cp", self._classpath(), "kafka.tools.StorageTool", "format", "-t", cluster]
        subprocess.run([*command, "-c", str(props), *users], check=True, capture_output=True)


def client_env(kafka: SecureKafka, ca: Path, mechanism: str = "SCRAM-SHA-256", password: str = PASSWORD) -> dict:
    return {
        "KAFKA_URI": kafka.secure_uri,
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_MECHANISM": mechanism,
        "KAFKA_SASL_USERNAME": USER,
        "KAFKA_SASL_PASSWORD": password,
        "KAFKA_SSL_CA_LOCATION": str(ca),
    }
