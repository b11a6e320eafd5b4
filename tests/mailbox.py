"""A real SMTP server (aiosmtpd) on loopback for tests, and helpers to read what it got."""

from __future__ import annotations

import email
import re
import socket
from dataclasses import dataclass, field, replace
from email import policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from forum.config import EmailSettings, Settings
from forum.mail import sender

LINK = re.compile(r"https?://\S+")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Mailbox:
    """Everything the SMTP server received, in order."""

    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)  # the bytes each message arrived as

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.raw.append(bytes(envelope.original_content or envelope.content))
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def last_to(self, address: str) -> EmailMessage:
        found = self.to(address)
        assert found, f"no mail to {address}; got {[m['To'] for m in self.messages]}"
        return found[-1]


def body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def link_in(message: EmailMessage, path_start: str) -> str:
    """The path (from `path_start` on) of the first link in the message that has it."""
    for url in LINK.findall(body(message)):
        index = url.find(path_start)
        if index >= 0:
            return url[index:]
    raise AssertionError(f"no {path_start} link in: {body(message)}")


class SmtpServer:
    """Start and stop an aiosmtpd server on a free loopback port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.mailbox = Mailbox(self.port)
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def smtp_settings(settings: Settings, port: int) -> Settings:
    """Settings that send through the loopback server on `port` (plain SMTP, no login)."""
    return replace(
        settings,
        email=EmailSettings(
            backend="smtp",
            host="127.0.0.1",
            port=port,
            security="none",
            from_address="Forum <forum@example.org>",
            timeout_seconds=5,
        ),
    )


async def deliver(settings: Settings) -> int:
    """Run the mailer once; returns how many messages were sent."""
    sent, _ = await sender.deliver_due(settings)
    return sent
