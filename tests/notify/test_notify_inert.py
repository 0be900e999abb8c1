"""A job's output lands inert: in a terminal (the console notice cron mails) and in chat markup.

The chats are tried against the real HTTP receiver: what Slack or Discord would get.
"""

from __future__ import annotations

import json

# A stderr that closes the code block, then pings everyone and shows a masked link;
# and a title and clipboard write (OSC 52) for a terminal.
HOSTILE = (
    "printf '%s\\n' 'boom' '```' '@everyone @here <!channel> <!here> <@U024BE7LH>' "
    "'<https://evil.example/|https://sso.example.com/login> [sso](https://evil.example/)' "
    "'````' 'x && y'; "
    "printf 'title\\033]0;pwned\\007 clip\\033]52;c;cm0gLXJmIH4=\\007 bell\\007 cr\\rover\\n'"
) + " >&2; exit 1"


def hook(url: str, fmt: str) -> dict:
    return {"notifiers": {"hook": {"type": "webhook", "url": url + "/hook", "format": fmt}}}


def _no_controls(text: str, kept: str = "\n\t") -> None:
    assert not [c for c in text if not c.isprintable() and c not in kept], repr(text)


def test_the_console_notice_shows_control_characters(rw):
    result = rw.run("--", "sh", "-c", HOSTILE)
    assert result.stdout.startswith("[runwrap] FAILED: job on ")
    _no_controls(result.stdout)
    # (The notice's tail is split into lines at the CR: it cannot overwrite either.)
    assert (
        "title\\x1b]0;pwned\\x07 clip\\x1b]52;c;cm0gLXJmIH4=\\x07 bell\\x07 cr\n" in result.stdout
    )


def test_slack_gets_escaped_text_in_a_block_it_cannot_leave(rw, receiver):
    rw.config(hook(receiver.url, "slack"))
    rw.run("--notify", "hook", "--", "sh", "-c", HOSTILE)
    [body] = receiver.json()
    text = body["text"]
    # The opening and the closing fence, nothing the job wrote: it stays in the block.
    assert text.count("```") == 2 and text.rstrip().endswith("```")
    # No entity Slack would act on: no <!channel>, no <@user>, no <url|label>.
    assert "<" not in text and ">" not in text
    assert "&lt;!channel&gt;" in text and "&lt;@U024BE7LH&gt;" in text
    assert "&lt;https://evil.example/|https://sso.example.com/login&gt;" in text
    assert "x &amp;&amp; y" in text
    _no_controls(text, "\n\t\u200b")  # the zero-width spaces that break the job's fences


def test_discord_pings_nobody_and_the_block_holds(rw, receiver):
    rw.config(hook(receiver.url, "discord"))
    rw.run("--notify", "hook", "--", "sh", "-c", HOSTILE)
    [body] = receiver.json()
    assert body["allowed_mentions"] == {"parse": []}
    content = body["content"]
    assert content.count("```") == 2 and content.endswith("```")
    assert "@everyone" in content  # shown, as text inside the block
    _no_controls(content, "\n\t\u200b")
    assert len(content) <= 2000


def test_a_long_discord_notice_is_cut_inside_its_block(rw, receiver):
    rw.config(hook(receiver.url, "discord"))
    job = "for i in $(seq 40); do printf '%0100d```\\n' $i; done >&2; exit 1"
    rw.run("--notify", "hook", "--", "sh", "-c", job)
    content = receiver.json()[0]["content"]
    assert len(content) <= 2000 and content.count("```") == 2 and content.endswith("…\n```")
    assert json.dumps(content)  # still one JSON string
