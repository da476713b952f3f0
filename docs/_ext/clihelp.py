"""``.. fastnn-cli-help:: [COMMAND]``: the ``fastnn`` command's ``--help`` text,
taken from its parser when the documentation is built, so the page cannot
drift from the program."""
from docutils import nodes
from sphinx.util.docutils import SphinxDirective


class CliHelp(SphinxDirective):
    optional_arguments = 1

    def run(self):
        import os

        from fastnn.cli import build_parser
        os.environ.setdefault("COLUMNS", "96")       # argparse wraps to the terminal's width
        parser = build_parser()
        if self.arguments:
            parser = parser._subparsers._group_actions[0].choices[self.arguments[0]]
        text = parser.format_help()
        return [nodes.literal_block(text, text, language="text")]


def setup(app):
    app.add_directive("fastnn-cli-help", CliHelp)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
