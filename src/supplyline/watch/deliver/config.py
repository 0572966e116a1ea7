"""The ``[delivery]`` section: where `supplyline watch` sends alerts, written in the case or a small file.

```toml
[delivery]
digest_minutes = 0                 # default of every sink: 0 = one message per alert

[[delivery.sink]]
kind = "webhook"                   # stdout | file | webhook | email
url = "https://hooks.example.org/ais"
secret_env = "SUPPLYLINE_WEBHOOK_SECRET"   # the NAME of the variable holding the HMAC secret

[[delivery.sink]]
kind = "email"
host = "mail.example.org"
port = 587                         # default 587 (starttls) or 465 (tls)
security = "starttls"              # or "tls" (TLS from the first byte)
from = "watch@example.org"
to = ["desk@example.org"]
user_env = "SUPPLYLINE_SMTP_USER"
password_env = "SUPPLYLINE_SMTP_PASSWORD"
digest_minutes = 60
```
Credentials are never written in the file: a key such as ``password`` or ``secret`` is an error that says
which ``*_env`` key to use instead. A file sink's ``path`` is relative to the file's folder. Each sink
becomes the same sink its ``--deliver`` spelling would (same default ledger name), so moving a sink from
the command line into the file does not deliver its alerts again.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from supplyline.case.problems import TomlProblems
from supplyline.errors import CaseError, UsageError
from supplyline.textfiles import NotUtf8Error, read_utf8

SECTION = "delivery"
_SINK_KEYS = {
    "stdout": {"kind", "name", "digest_minutes"},
    "file": {"kind", "name", "digest_minutes", "path"},
    "webhook": {"kind", "name", "digest_minutes", "url", "secret_env"},
    "email": {"kind", "name", "digest_minutes", "host", "port", "security", "from", "to", "user_env",
              "password_env"},
}  # fmt: skip
_SECRETS = {"secret": "secret_env", "password": "password_env", "user": "user_env", "username": "user_env",
            "token": "secret_env", "key": "secret_env", "api_key": "secret_env"}  # fmt: skip
_ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_ENV_KEYS = ("secret_env", "user_env", "password_env")


@dataclass(frozen=True)
class SinkSpec:
    """One configured sink: its target as ``--deliver`` spells it, and its options."""

    target: str
    options: dict[str, str]


class _Sink:
    """Checks one ``[[delivery.sink]]`` table, recording problems at their lines."""

    def __init__(
        self, raw: Mapping[str, Any], index: int, pr: TomlProblems, base: Path, digest: float
    ) -> None:
        self.raw, self.index, self.pr, self.base, self.digest = raw, index, pr, base, digest
        self.ok = True

    def problem(self, key: str, message: str) -> None:
        self.ok = False
        self.pr.add(
            self.pr.key(f"{SECTION}.sink", key, self.index), f"[[delivery.sink]] #{self.index + 1}: {message}"
        )

    def text(self, key: str, required: bool = True) -> str | None:
        value = self.raw.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip():
            self.problem(key, f"{key} wants a non-empty string" + (" (required)" if value is None else ""))
            return None
        return value.strip()

    def spec(self) -> SinkSpec | None:
        kind = self.raw.get("kind")
        if kind not in _SINK_KEYS:
            self.problem("kind", f"kind wants one of {', '.join(sorted(_SINK_KEYS))} (got {kind!r})")
            return None
        self._keys(str(kind))
        opts = self._common()
        target = getattr(self, f"_{kind}")()
        return SinkSpec(target, opts) if self.ok and target is not None else None

    def _keys(self, kind: str) -> None:
        for key in sorted(set(self.raw) - _SINK_KEYS[kind]):
            if key in _SECRETS:
                self.problem(key, f"credentials are never written in the file: put the value in an "
                                  f"environment variable and give its name, {_SECRETS[key]} = \"NAME\"")  # fmt: skip
            else:
                self.problem(key, f"unknown key {key!r} for a {kind} sink; allowed: "
                                  f"{', '.join(sorted(_SINK_KEYS[kind]))}")  # fmt: skip

    def _common(self) -> dict[str, str]:
        opts: dict[str, str] = {}
        digest = self.raw.get("digest_minutes", self.digest)
        if not _minutes(digest):
            self.problem("digest_minutes", f"digest_minutes wants a number of minutes >= 0 (got {digest!r})")
        elif digest:
            opts["digest"] = str(digest)
        name = self.text("name", required=False)
        if name is not None and not _NAME_RE.match(name):
            self.problem("name", f"name {name!r}: use letters, digits, '-', '_' or '.' (at most 64)")
        elif name:
            opts["name"] = name
        for key in _ENV_KEYS:
            env = self.text(key, required=False) if key in self.raw else None
            if env is not None and not _ENV_RE.match(env):
                self.problem(key, f"{key} wants the NAME of an environment variable, e.g. SUPPLYLINE_SECRET")
            elif env:
                opts[key] = env
        return opts

    def _stdout(self) -> str:
        return "-"

    def _file(self) -> str | None:
        path = self.text("path")
        return None if path is None else f"file:{self.base / Path(path).expanduser()}"

    def _webhook(self) -> str | None:
        url = self.text("url")
        parts = urlsplit(url or "")
        if url is not None and (parts.scheme not in ("http", "https") or not parts.hostname):
            self.problem("url", f"url wants http(s)://HOST/PATH (got {url!r})")
            return None
        return url

    def _email(self) -> str | None:
        host, sender = self.text("host"), self.text("from")
        security = self.raw.get("security", "starttls")
        if security not in ("starttls", "tls"):
            self.problem(
                "security",
                f'security wants "starttls" or "tls" (got {security!r}); mail is never sent in clear',
            )
        port = self.raw.get("port", 465 if security == "tls" else 587)
        if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
            self.problem("port", f"port wants a whole number 1-65535 (got {port!r})")
        to = self.raw.get("to")
        to = [to] if isinstance(to, str) else to
        if not isinstance(to, list) or not to or not all(isinstance(a, str) and "@" in a for a in to):
            self.problem("to", 'to wants an address or a list of addresses, e.g. ["desk@example.org"]')
        if sender is not None and "@" not in sender:
            self.problem("from", f"from wants an address (got {sender!r})")
        if not self.ok or host is None:
            return None
        scheme = "smtps" if security == "tls" else "smtp"
        return f"{scheme}://{host}:{port}?" + urlencode({"from": sender, "to": ",".join(to or [])})


def _minutes(value: Any) -> bool:
    return (
        isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value >= 0
    )


def check_delivery(doc: Mapping[str, Any], pr: TomlProblems, base: Path) -> list[SinkSpec]:
    """The sinks of ``doc``'s ``[delivery]`` section (none if absent); problems recorded in ``pr``."""
    section = doc.get(SECTION)
    if section is None:
        return []
    if not isinstance(section, dict):
        pr.add(pr.key("", SECTION), "[delivery] must be a table with [[delivery.sink]] entries")
        return []
    for key in sorted(set(section) - {"sink", "digest_minutes"}):
        pr.add(pr.key(SECTION, key), f"unknown key {key!r} in [delivery]; allowed: digest_minutes, sink")
    default = section.get("digest_minutes", 0)
    if not _minutes(default):
        pr.add(pr.key(SECTION, "digest_minutes"), f"digest_minutes wants minutes >= 0 (got {default!r})")
        default = 0
    sinks = section.get("sink", [])
    if not isinstance(sinks, list) or not all(isinstance(s, dict) for s in sinks):
        pr.add(pr.key(SECTION, "sink"), "write each sink as a [[delivery.sink]] table")
        return []
    specs = [_Sink(raw, i, pr, base, default).spec() for i, raw in enumerate(sinks)]
    return [s for s in specs if s is not None]


def load_delivery(path: Path | str) -> list[SinkSpec]:
    """The ``[delivery]`` sinks of a case (folder or case.toml) or of a delivery file; CaseError (exit 5)
    listing every problem with its line. A delivery file holds only ``[delivery]``."""
    src = Path(path)
    in_case = src.is_dir() or src.name == "case.toml"
    if src.is_dir():
        src = src / "case.toml"
    try:
        text = read_utf8(src)
    except (OSError, NotUtf8Error) as exc:
        raise UsageError(f"cannot read the delivery configuration {src}: {exc}") from exc
    pr = TomlProblems(src, text)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CaseError(
            f"{src} is not valid TOML: {exc}; fix the syntax", [(str(src), None, str(exc))]
        ) from exc
    if not in_case:
        for key in sorted(set(doc) - {SECTION}):
            pr.add(
                pr.table(key) or pr.key("", key), f"unknown section {key!r}; a delivery file holds [delivery]"
            )
    specs = check_delivery(doc, pr, src.parent)
    if pr.items:
        where = "; ".join(f"line {line}: {msg}" if line else msg for _, line, msg in pr.items[:3])
        raise CaseError(f"{src}: {len(pr.items)} problem(s) in [delivery]: {where}", pr.items)
    return specs


def missing_env(specs: list[SinkSpec]) -> list[str]:
    """The environment variables the sinks name explicitly (``*_env``) that are not set."""
    return sorted({v for s in specs for k, v in s.options.items() if k in _ENV_KEYS and v not in os.environ})
