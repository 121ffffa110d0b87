"""Every check that checkov skips says why, and nothing is skipped anywhere else."""

from __future__ import annotations

import re

import yaml

from access_keys_tools.template import PROJECT_ROOT

CONFIG = PROJECT_ROOT / ".checkov.yaml"


def test_every_skipped_check_has_its_reason_on_the_lines_above() -> None:
    lines = CONFIG.read_text(encoding="utf-8").splitlines()
    skipped = yaml.safe_load("\n".join(lines))["skip-check"]
    reasons = {}
    for index, line in enumerate(lines):
        found = re.fullmatch(r"\s*- (CKV\w+)\s*", line)
        if found:
            comment = []
            for above in reversed(lines[:index]):
                if not above.strip().startswith("#"):
                    break
                comment.insert(0, above.strip().lstrip("# "))
            reasons[found[1]] = " ".join(comment)

    assert set(reasons) == set(skipped)
    for check, reason in reasons.items():
        assert len(reason.split()) >= 8, f"{check} is skipped without a reason"


def test_the_template_suppresses_no_check_inline() -> None:
    template = (PROJECT_ROOT / "template.yaml").read_text(encoding="utf-8")

    assert "checkov" not in template.lower()  # checkov:skip comments or Metadata
    assert "ignore_checks" not in template  # cfn-lint's Metadata suppression
