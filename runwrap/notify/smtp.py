"""The email notifier: SMTP with STARTTLS, implicit TLS or neither, optional login.

A password never goes over a connection without TLS unless the config says
so (`allow_plaintext_auth: true`): `security: none` with a username is
refused when the config is read, and `auto` refuses to log in to a server
that offers no STARTTLS.

Named smtp, not email, so that it never shadows the standard library's
email package. The password is read when a mail is sent, from the
environment variable or file the config names, and goes nowhere but the
SMTP server.
"""

from __future__ import annotations

import os

from runwrap.store.owner import hostname

TYPE_CHECKING = False
if TYPE_CHECKING:
    from runwrap.notify.notifiers import Notifier
    from runwrap.notify.sending import Notice


def _password(fields: dict) -> str | None:
    if fields.get("password_env"):
        return os.environ.get(fields["password_env"], "")
    if fields.get("password_file"):
        with open(fields["password_file"], encoding="utf-8") as f:
            # A trailing newline is an artefact of editors and `echo`, never part of it.
            return f.read().rstrip("\r\n")
    return None


def _login(client, username: str, password: str) -> None:  # client: smtplib.SMTP
    """Log in; a refusal is reported without anything the server echoed of the credentials."""
    import smtplib
    from base64 import b64encode

    try:
        client.login(username, password)
    except smtplib.SMTPAuthenticationError as e:
        reply = e.smtp_error.decode("utf-8", "replace") if isinstance(e.smtp_error, bytes) else ""
        # A server may quote the AUTH line it got: the password, plain or base64-encoded.
        for secret in (
            password,
            b64encode(password.encode()).decode(),
            b64encode(f"\0{username}\0{password}".encode()).decode(),
        ):
            if secret:
                reply = reply.replace(secret, "***")
        raise RuntimeError(f"login refused for {username}: {e.smtp_code} {reply}") from None
    except UnicodeEncodeError:
        # Its message quotes a character of the password.
        raise RuntimeError(f"cannot log in as {username}: smtplib sends ASCII only") from None


def _is_msgid(value: object) -> bool:
    """A Message-ID as ledger.py makes them: notify.json is a file, read with distrust."""
    return (
        isinstance(value, str)
        and 2 < len(value) < 256
        and value[0] == "<"
        and value[-1] == ">"
        and value.isascii()
        and value.isprintable()
        and " " not in value
    )


def build_message(fields: dict, notice: Notice):  # -> email.message.EmailMessage
    """The mail as it will be sent."""
    from email.message import EmailMessage
    from email.utils import formatdate, make_msgid

    host = hostname()
    msg = EmailMessage()
    msg["Subject"] = notice.subject
    msg["From"] = fields.get("from") or f"runwrap@{host}"
    msg["To"] = ", ".join(fields["to"])
    msg["Date"] = formatdate(localtime=True)
    # Chosen when the notice was queued (ledger.py): a retry is the same mail, and a
    # recovery answers its failure, so that mail clients thread them.
    own = notice.item.get("message_id")
    msg["Message-ID"] = own if _is_msgid(own) else make_msgid("runwrap", domain=host)
    answers = notice.item.get("in_reply_to")
    if _is_msgid(answers):
        msg["In-Reply-To"] = answers
        msg["References"] = answers
    msg["X-Runwrap-Task"] = notice.context["task"]
    msg["X-Runwrap-Event"] = notice.event
    msg.set_content(notice.body)
    return msg


def _secure(client, fields: dict, context) -> None:  # client: smtplib.SMTP
    """STARTTLS as `security` asks; raise rather than log in over a clear connection.

    starttls: required. auto: when the server offers it; a login then needs it,
    verified, while a mail without login takes the server's certificate
    unchecked, as MTAs do between them (it was clear text before, and a local
    relay's self-signed certificate must not stop the notice).
    """
    import smtplib
    import ssl

    where = f"{fields['host']}:{fields['port']}"
    security = fields["security"]
    if security == "starttls":
        try:
            client.starttls(context=context)
        except smtplib.SMTPNotSupportedError:
            raise RuntimeError(f"{where} offers no STARTTLS (security: starttls)") from None
        return
    if security != "auto":
        return
    client.ehlo_or_helo_if_needed()
    if client.has_extn("starttls"):
        if not fields.get("username"):
            context = ssl.create_default_context(cafile=fields.get("ca_file"))
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        client.starttls(context=context)
    elif fields.get("username") and not fields.get("allow_plaintext_auth"):
        raise RuntimeError(
            f"{where} offers no STARTTLS: the password of {fields['username']} is not sent "
            "in clear (allow_plaintext_auth: true allows it)"
        )


def send(notifier: Notifier, notice: Notice, timeout: float) -> None:
    """Deliver the notice to every recipient; raise on any refusal."""
    import smtplib
    import ssl

    fields = notifier.fields
    security = fields["security"]
    context = None
    if security != "none":
        context = ssl.create_default_context(cafile=fields.get("ca_file"))
    msg = build_message(fields, notice)
    if security == "tls":
        client = smtplib.SMTP_SSL(fields["host"], fields["port"], timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(fields["host"], fields["port"], timeout=timeout)
    with client:
        _secure(client, fields, context)
        if fields.get("username"):
            _login(client, fields["username"], _password(fields) or "")
        refused = client.send_message(msg)
    if refused:
        raise RuntimeError(f"refused recipients: {', '.join(sorted(refused))}")
