"""What the command lines (`reimpl.train`, `reimpl.evaluate`, `reimpl.ratio`) share: errors
as one line, and help that shows every option's default."""

from __future__ import annotations

import argparse


class Parser(argparse.ArgumentParser):
    """Errors as one line: the usage of a dozen options printed before them would bury them."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Each option's default after its help, except where there is none; required options say
    so."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.required:
            return f"{action.help} (required)"
        if action.default is None:
            return action.help
        if action.default == "":
            return f"{action.help} (default: none)"
        return super()._get_help_string(action)
