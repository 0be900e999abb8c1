"""What a notice sends is masked by the config's redact: rules, in every transport's form."""

from __future__ import annotations

import json


def test_the_json_payload_and_the_command_environment_are_masked(rw, receiver, tmp_path):
    told = tmp_path / "told.json"
    rw.config(
        {
            "redact": ["corp-Vault-77"],
            "notifiers": {
                "hook": {"type": "webhook", "url": receiver.url + "/hook"},
                "cmd": {"type": "command", "command": f"cat > {told}"},
            },
        }
    )
    job = "echo 'vault corp-Vault-77 token=abc123z' >&2; exit 1"
    rw.run("--notify", "hook", "--notify", "cmd", "--", "sh", "-c", job)
    [payload] = receiver.json()
    for document in (payload, json.loads(told.read_text())):
        text = json.dumps(document)
        assert "corp-Vault-77" not in text and "abc123z" not in text
        assert document["output_tail"] == "vault *** token=***"
        assert "vault *** token=***" in document["text"]
