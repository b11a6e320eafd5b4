"""The outbox and the mailer, against a real SMTP server on loopback."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import httpx
import pytest

from forum import background
from forum.config import Settings
from forum.mail import sender
from forum.mail import services as mail
from forum.mail.models import MailStatus, OutboundEmail
from tests.mailbox import SmtpServer, body, deliver, free_port, smtp_settings


def test_backoff_doubles_up_to_an_hour() -> None:
    waits = [sender.backoff(n) for n in range(1, 10)]
    assert waits[:4] == [timedelta(seconds=s) for s in (30, 60, 120, 240)]
    assert waits[-1] == timedelta(hours=1)
    assert all(a <= b for a, b in itertools.pairwise(waits))


async def test_a_message_is_sent_once_with_its_headers(
    db: str, settings: Settings, smtp: SmtpServer
) -> None:
    settings = smtp_settings(settings, smtp.port)
    await mail.queue(to="ada@example.org", subject="Hello\nBcc: evil@example.org", text="Hi Ada")
    assert await deliver(settings) == 1
    assert await deliver(settings) == 0
    [message] = smtp.mailbox.messages
    assert message["To"] == "ada@example.org"
    assert message["Subject"] == "Hello Bcc: evil@example.org"  # one line: no header injection
    assert message["Bcc"] is None
    assert message["Message-ID"]
    assert body(message).strip() == "Hi Ada"


async def test_two_mailers_never_send_one_message_twice(
    db: str, settings: Settings, smtp: SmtpServer
) -> None:
    settings = smtp_settings(settings, smtp.port)
    for n in range(5):
        await mail.queue(to=f"p{n}@example.org", subject="Notice", text="Text")
    results = await asyncio.gather(sender.deliver_due(settings), sender.deliver_due(settings))
    assert sum(sent for sent, _ in results) == 5
    assert sorted(m["To"] for m in smtp.mailbox.messages) == [f"p{n}@example.org" for n in range(5)]
    assert await OutboundEmail.filter(status=MailStatus.SENT).count() == 5


async def test_after_the_last_retry_a_message_is_kept_as_failed(
    db: str, settings: Settings
) -> None:
    settings = smtp_settings(settings, free_port())  # nothing listens there
    row = await mail.queue(to="gus@example.org", subject="S", text="T")
    await OutboundEmail.filter(id=row.id).update(attempts=sender.MAX_ATTEMPTS - 1)
    sent, failed = await sender.deliver_due(settings)
    assert (sent, failed) == (0, 1)
    row = await OutboundEmail.get(id=row.id)
    assert row.status == MailStatus.FAILED and row.attempts == sender.MAX_ATTEMPTS
    assert row.last_error


async def test_the_folder_backend_writes_files(db: str, settings: Settings) -> None:
    settings = replace(settings, email=replace(settings.email, backend="folder", folder="mail"))
    await mail.queue(to="hal@example.org", subject="Link", text="http://x/verify/k")
    assert await deliver(settings) == 1
    [path] = list((settings.base_dir / "mail").glob("*.eml"))
    assert "hal@example.org" in path.read_text()


async def test_the_mailer_loop_sends_and_stops(
    db: str, settings: Settings, smtp: SmtpServer
) -> None:
    settings = smtp_settings(settings, smtp.port)
    stop = asyncio.Event()
    task = asyncio.create_task(background.run(settings, stop, interval=0.05))
    await mail.queue(to="ivy@example.org", subject="Loop", text="T")
    for _ in range(100):
        if smtp.mailbox.messages:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert [m["To"] for m in smtp.mailbox.messages] == ["ivy@example.org"]


async def test_mail_about_a_network_is_cancelled_once_its_recipient_may_not_read_it(
    db: str, settings: Settings, smtp: SmtpServer
) -> None:
    from forum.networks.models import Membership, Visibility
    from tests.factories import make_member, make_network

    settings = smtp_settings(settings, smtp.port)
    network = await make_network("ig", visibility=Visibility.MEMBERS)
    member = await make_member(network)
    for n in range(2):
        await mail.queue(
            to=member.email,
            subject=f"Reply {n}",
            text="Secret reply",
            kind="reply",
            user_id=member.id,
            network_ids=[network.id],
        )
    # Removed from the network after the mail was queued, before it went.
    await Membership.filter(user_id=member.id).delete()
    assert await deliver(settings) == 0
    assert smtp.mailbox.messages == []
    assert await OutboundEmail.filter(status=MailStatus.CANCELLED).count() == 2


async def test_unsubscribe_links_are_signed_and_one_click(
    db: str, settings: Settings, smtp: SmtpServer, client: httpx.AsyncClient
) -> None:
    from forum.notifications.models import Preferences
    from tests.factories import make_user

    settings = smtp_settings(settings, smtp.port)
    user = await make_user("ula")
    await mail.queue(to=user.email, subject="Digest", text="News", kind="digest", user_id=user.id)
    await deliver(settings)
    [message] = smtp.mailbox.messages
    header = message["List-Unsubscribe"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = header.strip("<>")
    path = url[url.index("/unsubscribe/") :]
    assert path in body(message)
    assert (
        await client.post(path + "x", data={"List-Unsubscribe": "One-Click"})
    ).status_code == 404
    r = await client.post(path, data={"List-Unsubscribe": "One-Click"})  # no cookie, no token
    assert r.status_code == 200
    assert (await Preferences.get(user_id=user.id)).digest == "never"


@pytest.fixture
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 and its key (made with openssl)."""
    import shutil
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: cannot make a certificate for the TLS test")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return str(cert), str(key)


@pytest.fixture
def tls_smtp(tls_files: tuple[str, str]) -> Iterator[SmtpServer]:
    """A real SMTP server on loopback that speaks only after STARTTLS, with the test's own
    certificate, and takes only the login forum / s3cret-pass."""
    import ssl

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    cert, key = tls_files
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    box = SmtpServer()

    def check(
        server: object, session: object, envelope: object, mechanism: str, data: object
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            b"forum",
            b"s3cret-pass",
        )
        return AuthResult(success=ok)

    box.controller = Controller(
        box.mailbox,
        hostname="127.0.0.1",
        port=box.port,
        tls_context=context,
        require_starttls=True,
        authenticator=check,
        auth_require_tls=True,
    )
    box.controller.start()
    try:
        yield box
    finally:
        box.stop()


def starttls_settings(settings: Settings, port: int, ca_file: str = "") -> Settings:
    base = smtp_settings(settings, port)
    email = replace(
        base.email, security="starttls", username="forum", password="s3cret-pass", ca_file=ca_file
    )
    return replace(base, email=email)


async def test_starttls_with_login_is_used_when_configured(
    db: str,
    settings: Settings,
    tls_smtp: SmtpServer,
    tls_files: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`security = "starttls"` upgrades the connection before logging in; the server here
    refuses anything else (and checks the password)."""
    monkeypatch.setenv("SSL_CERT_FILE", tls_files[0])  # the system's trust: the test's own
    await mail.queue(to="tls@example.org", subject="Over TLS", text="Encrypted")
    assert await deliver(starttls_settings(settings, tls_smtp.port)) == 1
    assert [m["To"] for m in tls_smtp.mailbox.messages] == ["tls@example.org"]
    # Plain SMTP to the same server is refused, and the message stays queued.
    await mail.queue(to="plain@example.org", subject="Plain", text="Not encrypted")
    base = smtp_settings(settings, tls_smtp.port)
    plain = replace(base, email=replace(base.email, security="none"))
    assert await deliver(plain) == 0
    assert await OutboundEmail.filter(status=MailStatus.QUEUED).count() == 1


async def test_a_server_signed_by_an_authority_the_system_does_not_know_is_refused(
    db: str, settings: Settings, tls_smtp: SmtpServer
) -> None:
    """Its certificate is not one the system trusts: nothing is sent (the password is never
    offered to it) and the message waits in the outbox for a later attempt."""
    await mail.queue(to="tls@example.org", subject="Over TLS", text="Encrypted")
    assert await deliver(starttls_settings(settings, tls_smtp.port)) == 0
    assert tls_smtp.mailbox.messages == []
    [row] = await OutboundEmail.all()
    assert row.status == MailStatus.QUEUED
    assert "certificate" in row.last_error.lower()


async def test_email_ca_file_names_the_authority_that_vouches_for_the_server(
    db: str, settings: Settings, tls_smtp: SmtpServer, tls_files: tuple[str, str]
) -> None:
    """An organisation's relay signed by its internal CA: `email.ca_file` is enough, with
    no change to the system's trust store or the process's environment."""
    await mail.queue(to="tls@example.org", subject="Over TLS", text="Encrypted")
    assert await deliver(starttls_settings(settings, tls_smtp.port, ca_file=tls_files[0])) == 1
    assert [m["Subject"] for m in tls_smtp.mailbox.messages] == ["Over TLS"]


def _raw_headers(raw: bytes) -> dict[str, str]:
    """The header section as sent: each header's value with its folds undone, not decoded."""
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")  # 7-bit: anything else is encoded
    headers: dict[str, str] = {}
    name = ""
    for line in head.split("\r\n"):
        assert len(line) <= 998
        if line[:1] in (" ", "\t"):
            headers[name] += line
        else:
            name, _, value = line.partition(":")
            name = name.lower()
            headers[name] = value.strip()
    return headers


@pytest.mark.parametrize("extra", [0, 7, 23, 31, 33, 38, 44, 57, 61, 80, 110])
async def test_headers_arrive_folded_never_encoded_where_a_url_stands(
    db: str, settings: Settings, smtp: SmtpServer, extra: int
) -> None:
    """A long non-ASCII title gives encoded words of at most 75 characters and never an
    empty one; a long unsubscribe URL arrives as a plain `<https://…>`, with the one-click
    header (RFC 8058). Read from the raw bytes the SMTP server received."""
    from email.header import decode_header, make_header

    from tests.factories import make_user

    settings = smtp_settings(settings, smtp.port)
    base = "https://forum.example.org/" + "a-long-path-segment/" * 6
    settings = replace(settings, site=replace(settings.site, base_url=base))
    user = await make_user("ula")
    title = "Ana Souza replied in “" + "a " * extra + "Réunion: équipes de données”"
    await mail.queue(to=user.email, subject=title, text="News", kind="digest", user_id=user.id)
    assert await deliver(settings) == 1
    [raw] = smtp.mailbox.raw
    headers = _raw_headers(raw)
    assert "=?utf-8?q??=" not in raw.decode().lower()
    assert str(make_header(decode_header(headers["subject"]))) == title
    for word in headers["subject"].split():
        assert len(word) <= 75
    unsubscribe = headers["list-unsubscribe"]
    assert unsubscribe.startswith("<" + base.rstrip("/") + "/unsubscribe/")
    assert unsubscribe.endswith(">") and "=?" not in unsubscribe and " " not in unsubscribe
    assert headers["list-unsubscribe-post"] == "List-Unsubscribe=One-Click"
    [message] = smtp.mailbox.messages
    assert message["Subject"] == title
    assert unsubscribe.strip("<>") in body(message)
