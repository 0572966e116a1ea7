"""The [delivery] section (in a case or a small file): each sink kind read into the sink its `--deliver`
spelling gives, and every mistake reported with its line and what to write instead."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from supplyline.case import validate_case
from supplyline.errors import CaseError, UsageError
from supplyline.watch.deliver import Retry, parse_sink
from supplyline.watch.deliver.config import load_delivery, missing_env
from supplyline.watch.deliver.dispatch import make_sink
from supplyline.watch.runner import WatchConfig, configured_sinks
from tests.watch_support import CASE

FULL = """\
[delivery]
digest_minutes = 5

[[delivery.sink]]
kind = "stdout"
digest_minutes = 0

[[delivery.sink]]
kind = "file"
path = "out/alerts.jsonl"
name = "desk-file"

[[delivery.sink]]
kind = "webhook"
url = "https://hooks.example.org/ais"
secret_env = "HOOK_SECRET"

[[delivery.sink]]
kind = "email"
host = "mail.example.org"
security = "tls"
from = "watch@example.org"
to = ["a@example.org", "b@example.org"]
user_env = "MAIL_USER"
password_env = "MAIL_PW"
digest_minutes = 60
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "delivery.toml"
    path.write_text(text)
    return path


def test_every_kind_becomes_its_sink(tmp_path: Path) -> None:
    specs = load_delivery(write(tmp_path, FULL))
    sinks = [make_sink(s.target, s.options, Retry(), where="test") for s in specs]
    stdout, file, hook, mail = sinks
    assert stdout.digest_s == 0 and stdout.path is None
    assert file.path == tmp_path / "out" / "alerts.jsonl" and file.name == "desk-file"
    assert file.digest_s == 300  # the section's default digest
    assert hook.url == "https://hooks.example.org/ais" and hook.secret_env == "HOOK_SECRET"
    assert mail.tls is True and mail.port == 465 and mail.digest_s == 3600
    assert mail.to == ["a@example.org", "b@example.org"] and mail.sender == "watch@example.org"
    assert (mail.user_env, mail.password_env) == ("MAIL_USER", "MAIL_PW")
    # the same ledger name as the command-line spelling: moving a sink into the file sends nothing again
    assert hook.name == parse_sink("https://hooks.example.org/ais", Retry()).name
    assert missing_env(specs) == ["HOOK_SECRET", "MAIL_PW", "MAIL_USER"]


@pytest.mark.parametrize(
    ("sink", "line", "says"),
    [
        ('kind = "webhook"\nurl = "https://h.example.org/"\nsecret = "abc"', 4, 'secret_env = "NAME"'),
        (
            'kind = "email"\nhost = "m"\nfrom = "w@x.org"\nto = ["a@x.org"]\npassword = "pw"',
            6,
            "password_env",
        ),
        ('kind = "email"\nhost = "m"\nfrom = "w@x.org"\nto = ["a@x.org"]\nuser = "me"', 6, "user_env"),
        ('kind = "pager"', 2, "kind wants one of email, file, stdout, webhook"),
        ('kind = "webhook"\nurl = "ftp://h.example.org/"', 3, "url wants http(s)://"),
        (
            'kind = "webhook"\nurl = "https://h/"\nsecret_env = "not a name"',
            4,
            "NAME of an environment variable",
        ),
        (
            'kind = "file"\npath = "a"\ndigest_minutes = -1',
            4,
            "digest_minutes wants a number of minutes >= 0",
        ),
        ('kind = "file"\npath = "a"\ncolour = "red"', 4, "unknown key 'colour' for a file sink"),
        ('kind = "file"', 1, "path wants a non-empty string (required)"),
        ('kind = "email"\nhost = "m"\nfrom = "w@x.org"\nto = []', 5, "to wants an address"),
        (
            'kind = "email"\nhost = "m"\nfrom = "w@x.org"\nto = "a@x.org"\nsecurity = "none"',
            6,
            "never sent in clear",
        ),
        ('kind = "email"\nhost = "m"\nfrom = "w@x.org"\nto = "a@x.org"\nport = 70000', 6, "port wants"),
    ],
)
def test_mistakes_are_reported_at_their_line(tmp_path: Path, sink: str, line: int, says: str) -> None:
    path = write(tmp_path, f"[[delivery.sink]]\n{sink}\n")
    with pytest.raises(CaseError) as err:
        load_delivery(path)
    problems = err.value.problems
    assert len(problems) == 1, problems
    assert problems[0][1] == line and says in problems[0][2], problems
    assert says in str(err.value) and f"line {line}" in str(err.value)


def test_a_delivery_file_holds_only_delivery(tmp_path: Path) -> None:
    with pytest.raises(CaseError, match="unknown section 'places'"):
        load_delivery(write(tmp_path, '[places]\nx = 1\n[[delivery.sink]]\nkind = "stdout"\n'))
    with pytest.raises(CaseError, match="not valid TOML"):
        load_delivery(write(tmp_path, "[[delivery.sink]\n"))
    assert load_delivery(write(tmp_path, "# nothing configured\n")) == []


def test_case_with_delivery_validates_and_feeds_the_watch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = tmp_path / "case"
    shutil.copytree(CASE, case)
    toml = case / "case.toml"
    good = (
        toml.read_text()
        + '\n[[delivery.sink]]\nkind = "webhook"\nurl = "http://127.0.0.1:9/h"\nsecret_env = "S"\n'
    )
    toml.write_text(good)
    assert validate_case(case) == []
    cfg = WatchConfig(store=tmp_path / "st", sources=[], sinks=["-"], case=case)
    with pytest.raises(UsageError, match=r"environment variable\(s\) that are not set: S; export"):
        configured_sinks(cfg, Retry())
    monkeypatch.setenv("S", "x")
    assert [s.name.split("-")[0] for s in configured_sinks(cfg, Retry())] == ["stdout", "http"]
    dup = WatchConfig(store=tmp_path / "st", sources=[], sinks=["http://127.0.0.1:9/h"], case=case)
    with pytest.raises(UsageError, match="share the ledger name"):
        configured_sinks(dup, Retry())  # the same target twice would deliver each alert twice
    toml.write_text(good.replace('secret_env = "S"', 'secret = "plain"'))
    (problem,) = validate_case(case)  # `supplyline case validate` reports it too
    assert problem[0].endswith("case.toml") and "secret_env" in problem[2]


def test_command_line_options_per_kind() -> None:
    assert parse_sink("http://h/x#secret_env=OTHER", Retry()).secret_env == "OTHER"
    mail = parse_sink("smtp://m:25?from=a@x&to=b@x#user_env=U&password_env=P", Retry())
    assert (mail.user_env, mail.password_env) == ("U", "P")
    with pytest.raises(UsageError, match="a webhook sink takes digest, name, secret_env"):
        parse_sink("http://h/x#user_env=U", Retry())


def test_a_bundled_case_name_works_without_delivery(tmp_path: Path) -> None:
    cfg = WatchConfig(store=tmp_path / "st", sources=[], sinks=["-"], case=Path("nyharbor"))
    assert [s.name.split("-")[0] for s in configured_sinks(cfg, Retry())] == ["stdout"]
