"""A theme of one's own reads `site` as it always could: a mapping (`site["title"]`,
`site.get("site_url")`, `site.items()`) whose values are also attributes (`site.title`),
docs/sitegen.md's Themes."""

from __future__ import annotations

from helpers.sites import runwrap, sitegen

HEAD = (
    "<title>{{ site.title }}|{{ site['title'] }}|{{ site.get('site_url') or 'none' }}|"
    "{{ site.items()|list|length }}</title>"
)


def test_a_theme_reads_site_as_a_mapping_and_by_attribute(run_root, out, tmp_path):
    assert runwrap(run_root, "a", "true").returncode == 0
    theme = tmp_path / "mytheme" / "templates"
    theme.mkdir(parents=True)
    (theme / "base.html").write_text(HEAD + "{% block main %}{% endblock %}\n")
    built = sitegen("--root", str(run_root), "--out", str(out), "--theme", str(theme.parent), "-q")
    assert built.returncode == 0, built.stderr
    assert "<title>runwrap|runwrap|none|2</title>" in (out / "index.html").read_text()
