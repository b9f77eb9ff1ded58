"""File delivery, the delivery protocol, and retry backoff."""

from __future__ import annotations

from datetime import timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest

from notifier.delivery import Delivery, FileDelivery, SmtpDelivery, backoff_delay, eml_name
from revolving_door.errors import DeliveryError


def message(mid: str | None = "<abc123@revolving-door>", body: str = "hello") -> EmailMessage:
    """A small email with the given Message-ID."""
    msg = EmailMessage()
    msg["Subject"] = "Heads-up"
    msg["From"] = "rd@example.org"
    msg["To"] = "alice@example.org"
    if mid is not None:
        msg["Message-ID"] = mid
    msg.set_content(body)
    return msg


def test_file_delivery_writes_one_eml_named_by_message_id(tmp_path: Path) -> None:
    """A message lands as <message-id>.eml (folder created), readable back as the same email."""
    folder = tmp_path / "outbox"
    FileDelivery(folder).send(message())
    [written] = folder.iterdir()
    assert written.name == "abc123_revolving-door.eml"
    parsed = BytesParser(policy=policy.default).parsebytes(written.read_bytes())
    assert parsed["Message-ID"] == "<abc123@revolving-door>"


def test_resending_the_same_message_id_overwrites(tmp_path: Path) -> None:
    """Delivering the same Message-ID twice leaves one file with the latest content and no temp files."""
    delivery = FileDelivery(tmp_path)
    delivery.send(message(body="first"))
    delivery.send(message(body="second"))
    files = sorted(tmp_path.iterdir())
    assert [f.name for f in files] == ["abc123_revolving-door.eml"]
    assert b"second" in files[0].read_bytes()


def test_unwritable_folder_is_a_delivery_error(tmp_path: Path) -> None:
    """When the folder cannot be created, send raises DeliveryError from the OSError."""
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(DeliveryError, match="could not write") as caught:
        FileDelivery(blocker / "outbox").send(message())
    assert isinstance(caught.value.__cause__, OSError)


def test_eml_name_is_file_safe() -> None:
    """Path separators and dots in a Message-ID cannot escape the folder; no Message-ID uses a hash."""
    assert eml_name(message("<../../etc/passwd@x>")) == "etc_passwd_x.eml"
    anonymous = eml_name(message(None))
    assert anonymous.endswith(".eml") and len(anonymous) == 36
    assert anonymous == eml_name(message(None))


def test_both_deliveries_satisfy_the_protocol(tmp_path: Path) -> None:
    """FileDelivery and SmtpDelivery are Delivery implementations."""
    assert isinstance(FileDelivery(tmp_path), Delivery)
    assert isinstance(SmtpDelivery("localhost", 25, "none", None, None, "rd@example.org", 5), Delivery)


def test_smtp_delivery_refuses_unknown_security_and_hides_the_password() -> None:
    """An unknown security mode is refused; repr never shows the password."""
    with pytest.raises(ValueError, match="security"):
        SmtpDelivery("h", 25, "tls", None, None, "rd@example.org", 5)  # type: ignore[arg-type]
    shown = repr(SmtpDelivery("h", 587, "starttls", "user", "hunter2", "rd@example.org", 5))
    assert "hunter2" not in shown and "user" in shown


def test_message_without_recipient_is_refused() -> None:
    """SMTP delivery of a message with no To/Cc/Bcc fails before connecting."""
    bare = message()
    del bare["To"]
    with pytest.raises(DeliveryError, match="no recipient"):
        SmtpDelivery("127.0.0.1", 9, "none", None, None, "rd@example.org", 1).send(bare)


def test_backoff_doubles_from_the_base_up_to_the_cap() -> None:
    """Delays are 1, 2, 4, … minutes, capped at six hours, and sane for absurd attempt counts."""
    assert [backoff_delay(n).total_seconds() for n in (0, 1, 2, 3, 4)] == [60, 60, 120, 240, 480]
    assert backoff_delay(9) == timedelta(hours=4, minutes=16)
    assert backoff_delay(10) == timedelta(hours=6)
    assert backoff_delay(10_000) == timedelta(hours=6)
    assert backoff_delay(3, base_seconds=5, cap_seconds=12) == timedelta(seconds=12)


def test_backoff_jitter_stays_between_half_and_full() -> None:
    """Injected jitter scales the delay into [half, full]."""
    assert backoff_delay(3, jitter=lambda: 0.0) == timedelta(minutes=2)
    assert backoff_delay(3, jitter=lambda: 0.5) == timedelta(minutes=3)
    assert backoff_delay(3, jitter=lambda: 7.0) == timedelta(minutes=4)
