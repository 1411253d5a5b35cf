"""What the CLI's help texts cite exists: every ``tune_configs/...yaml`` they name is in the repository."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from pathlib import Path

from rllib_safe.cli import build_parser

REPO = Path(__file__).resolve().parents[2]
SPEC_PATH = re.compile(r"tune_configs/[\w.-]+\.ya?ml")  # a named file, not a pattern like tune_configs/*.yaml


def help_texts(parser: argparse.ArgumentParser) -> Iterator[str]:
    """The parser's description, epilog and argument helps, then its subcommands', recursively."""
    yield from (text for text in (parser.description, parser.epilog) if text)
    for action in parser._actions:
        if action.help and action.help is not argparse.SUPPRESS:
            yield action.help
        if isinstance(action, argparse._SubParsersAction):
            yield from (choice.help for choice in action._choices_actions if choice.help)
            for subparser in action.choices.values():
                yield from help_texts(subparser)


def test_the_spec_files_named_in_help_texts_exist():
    cited = {path for text in help_texts(build_parser()) for path in SPEC_PATH.findall(text)}
    assert cited, "no help text names a spec: the pattern or the walk is broken"
    assert sorted(path for path in cited if not (REPO / path).is_file()) == []
