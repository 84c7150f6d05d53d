"""The documentation: the site builds with no broken link, the README's links resolve, and the
configuration reference is exactly what the typed settings generate."""
from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from heavylegs import settings_doc

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    return {github_slug(m) for m in re.findall(r"^#{1,6} +(.+?) *$", FENCE.sub("", markdown), re.M)}


def test_github_slug_matches_hand_made_anchors() -> None:
    assert github_slug("Get alerts by e-mail or on your phone") == "get-alerts-by-e-mail-or-on-your-phone"
    assert github_slug("How do I get alerts on my phone?") == "how-do-i-get-alerts-on-my-phone"
    assert github_slug("Webhooks (optional)") == "webhooks-optional"
    assert github_slug("`heavylegs load`") == "heavylegs-load"


def test_every_relative_link_in_the_readme_resolves() -> None:
    readme = (ROOT / "README.md").read_text()
    checked = 0
    for target in LINK.findall(FENCE.sub("", readme)):
        if re.match(r"[a-z]+:", target):  # http(s), mailto: not ours to check offline
            continue
        path, _, anchor = target.partition("#")
        file = ROOT / path if path else ROOT / "README.md"
        assert file.exists(), f"README links to {target}, but {path} does not exist"
        if anchor:
            assert anchor in anchors(file.read_text()), f"README links to {target}: no heading gives #{anchor}"
        checked += 1
    assert checked >= 20  # the front door points into the docs; a regex that finds nothing would pass vacuously


def test_the_readme_keeps_the_two_quick_start_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    # .ci/run runs ./dev test; newcomers copy these two lines.
    assert re.search(r"^\./dev run +# ", readme, re.M)
    assert re.search(r"^\./dev test +# ", readme, re.M)
    assert len(readme.splitlines()) <= 300  # the front door stays short; details belong in docs/


def test_the_configuration_reference_is_generated_from_the_settings() -> None:
    committed = (ROOT / "docs" / "configuration.md").read_text()
    assert committed == settings_doc.render(), (
        "docs/configuration.md is stale: run  python -m heavylegs.settings_doc > docs/configuration.md")


def _tables(doc: str) -> dict[str, set[str]]:
    """Each ``[table]`` heading of the reference with the keys listed under it."""
    out: dict[str, set[str]] = {}
    current = ""
    for line in doc.splitlines():
        heading = re.match(r"^#+ `\[\[?([^\]]+)\]\]?`$", line)
        if heading:
            current = heading.group(1)
            out.setdefault(current, set())
        row = re.match(r"^\| `([^`]+)` \|", line)
        if row and current:
            out[current].add(row.group(1))
    return out


def _leaves(table: dict[str, Any], path: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for key, value in table.items():
        if isinstance(value, dict):
            found += _leaves(value, f"{path}.{key}" if path else key)
        else:
            found.append((path, key))
    return found


def test_every_key_of_default_toml_is_in_the_reference_under_its_table() -> None:
    defaults = tomllib.loads((ROOT / "config" / "default.toml").read_text())
    tables = _tables(settings_doc.render())
    leaves = _leaves(defaults, "")
    assert len(leaves) > 100
    missing = [f"{path}.{key}" for path, key in leaves if key not in tables.get(path, set())]
    assert not missing, f"keys of config/default.toml missing from the configuration reference: {missing}"
    assert {"url", "secret", "secret_file"} <= tables["alerts.channels"]  # channel kinds are documented too


def test_types_and_defaults_read_as_toml() -> None:
    assert settings_doc.type_name(int | None) == "integer, optional"
    assert settings_doc.type_name(tuple[str, ...]) == "list of strings"
    assert settings_doc.toml_value(("Run", "TrailRun")) == '["Run", "TrailRun"]'
    assert settings_doc.toml_value(True) == "true"
    assert settings_doc.toml_value(0.1) == "0.1"
    assert settings_doc.toml_value(42.0) == "42"
    assert settings_doc.toml_value('say "hi"') == '"say \\"hi\\""'


@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("material") is None,
                    reason="mkdocs and mkdocs-material come with the test extra")
def test_the_site_builds_strictly_and_offline(tmp_path: Path) -> None:
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # material's end-of-life banner, not a problem of ours
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet",
                             "-f", str(ROOT / "mkdocs.yml"), "-d", str(site)],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    for page in ("index.html", "alerts/index.html", "configuration/index.html", "DEVELOPING/index.html"):
        assert (site / page).is_file(), page
    home = (site / "index.html").read_text()
    assert "fonts.googleapis.com" not in home  # builds and renders without the internet
    assert "ntfy" in (site / "alerts" / "index.html").read_text()
