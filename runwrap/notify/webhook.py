"""The webhook notifier: an HTTP POST of JSON, in our format, Slack's or Discord's.

Slack's `{"text": ...}` is also what Mattermost and Rocket.Chat incoming
webhooks take. Error messages never include the URL: for Slack and
Discord the URL is the secret.
"""

from __future__ import annotations

from runwrap import __version__
from runwrap.store.jsonio import dumps
from runwrap.visible import visible

TYPE_CHECKING = False
if TYPE_CHECKING:
    from runwrap.notify.notifiers import Notifier
    from runwrap.notify.sending import Notice

_DISCORD_MAX = 2000  # Discord refuses longer messages


def _unfenced(text: str) -> str:
    """`text` that cannot close a code fence: no two backticks side by side.

    A zero-width space goes between them; neither Slack nor Discord has an
    escape inside a code block, and a job's stderr may hold a fence of its own.
    """
    while "``" in text:
        text = text.replace("``", "`\u200b`")
    return text


def _slack_escape(text: str) -> str:
    """Slack's three control characters as entities: no <!channel>, <@U..> or <url|label>."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_DISCORD_MARKUP = str.maketrans({c: "\\" + c for c in "\\*_~`|>[]()<@"})


def _discord_escape(text: str) -> str:
    """Discord markdown outside a code block made literal, each character backslashed."""
    return text.translate(_DISCORD_MARKUP)


def body_for(fmt: str, notice: Notice) -> dict:
    """The JSON document sent for a notice in format `fmt`.

    For the chats, everything a job or a template put in is inert: the body is a
    code block it cannot close, the subject is escaped for the markup, control
    characters are shown (runwrap/visible.py), and Discord is told to ping nobody.
    """
    if fmt == "slack":
        subject = _slack_escape(visible(notice.subject))
        body = _slack_escape(_unfenced(visible(notice.body.rstrip())))
        return {"text": f"*{subject}*\n```\n{body}\n```"}
    if fmt == "discord":
        subject = _discord_escape(visible(notice.subject))
        body = _unfenced(visible(notice.body.rstrip()))
        text = f"**{subject}**\n```\n{body}\n```"
        if len(text) > _DISCORD_MAX:
            text = text[: _DISCORD_MAX - 6].rstrip("`") + "…\n```"
        return {"content": text, "allowed_mentions": {"parse": []}}
    return notice.payload


def post(url: str, data: bytes, headers: dict, timeout: float) -> None:
    """POST `data`; raise with a short reason, never the URL, unless the server answers 2xx."""
    import http.client
    import urllib.error
    import urllib.request

    try:
        request = urllib.request.Request(url, data=data, method="POST", headers=headers)
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read(64 * 1024)
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"HTTP {e.code} {e.reason}") from None
    except urllib.error.URLError as e:
        raise RuntimeError(f"cannot reach the server: {e.reason}") from None
    except (ValueError, http.client.InvalidURL):
        # Their messages quote the URL, which may be the secret.
        raise RuntimeError("the URL is not valid (not shown: it may hold a secret)") from None


def post_json(url: str, document: dict, headers: dict, timeout: float) -> None:
    """POST `document`; raise with a short reason unless the server answers 2xx."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"runwrap/{__version__}",
        **headers,
    }
    post(url, dumps(document).encode("utf-8"), headers, timeout)


def send(notifier: Notifier, notice: Notice, timeout: float) -> None:
    """POST the notice."""
    fields = notifier.fields
    post_json(fields["url"], body_for(fields["format"], notice), fields["headers"], timeout)
