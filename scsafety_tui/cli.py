"""Command line: parse arguments, then hand off to the core or start the app.

Imports stay inside the command functions so `--help` answers at once. Exit codes: 0 ok, 1 internal
error (a bug: traceback in the log file), 2 usage or input error, 3 a run finished with errored
conversations or unscored answers, 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

EXIT_OK, EXIT_BUG, EXIT_INPUT, EXIT_ERRORS, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # usage errors: one line, exit 2
        self.exit(EXIT_INPUT, f"{self.prog}: error: {message}\n")


class VersionAction(argparse.Action):
    """`--version`: the installed package's version, looked up only when asked (--help stays instant)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> NoReturn:
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("scsafety-tui")
        except PackageNotFoundError:  # run from a source tree that was never installed
            found = "unknown (not installed)"
        sys.stdout.write(f"scsafety-tui {found}\n")  # stdout, as argparse's own version action: scripts read it
        parser.exit(EXIT_OK)


def _common_run(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bank", action="append", metavar="PATH", help="question bank file or folder (repeatable)")
    p.add_argument("--targets", metavar="A,B", help="only these target keys")
    p.add_argument("--sub-dimension", action="append", metavar="ID", help="only this sub-dimension (repeatable)")
    p.add_argument("--limit", type=int, metavar="N", help="at most N items")
    p.add_argument("--name", help="session name (default: date and targets)")
    p.add_argument("--db", metavar="PATH", help="SQLite database (default: platform data dir)")


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="scsafety-tui", description="Run the SC-Safety LLM safety benchmark against several models "
               "side by side; replay and compare saved sessions; spot-check prompts.")
    p.add_argument("--db", metavar="PATH", help="SQLite database (default: platform data dir)")
    p.add_argument("--config", metavar="PATH", help="config file (default: platform config dir)")
    p.add_argument("--version", action=VersionAction)
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    def cmd(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, description=help)

    c = cmd("demo", "run the shipped bank against the built-in demo personas (no key, no network)")
    c.add_argument("--headless", action="store_true", help="print progress and tables instead of the app")
    c.add_argument("--limit", type=int, metavar="N", help="at most N items")
    c.add_argument("--speed", choices=("realistic", "fast", "instant"), default=None,
                   help="demo streaming speed (default: realistic in the app, fast headless)")
    c.add_argument("--db", metavar="PATH", help="SQLite database (default: platform data dir)")
    c.add_argument("--name", help="session name")

    c = cmd("run", "run a benchmark session from a config (the live app, or --headless)")
    c.add_argument("--config", metavar="PATH", help="config file")
    c.add_argument("--headless", action="store_true", help="print progress and tables instead of the app")
    _common_run(c)

    c = cmd("resume", "finish an interrupted session, or --retry-errors to rerun its errored conversations")
    c.add_argument("session", help="session id or name ('last' for the newest)")
    c.add_argument("--retry-errors", action="store_true", help="rerun only errored conversations")
    c.add_argument("--config", metavar="PATH", help="config whose targets replace the stored ones by key")
    c.add_argument("--headless", action="store_true",
                   help="print progress and tables instead of the app (the default when not in a terminal)")
    c.add_argument("--db", metavar="PATH")

    c = cmd("rejudge", "judge again the answers whose judges all failed, or with --judge every answer into a"
                       " named verdict set (the models are not asked again)")
    c.add_argument("session", help="session id or name ('last' for the newest)")
    c.add_argument("--config", metavar="PATH", help="judge with this config's [judge] (default: the session's own)")
    c.add_argument("--judge", metavar="KEY[,KEY…]", help="judge every answer again with these [[judge.targets]]"
                   " keys or 'heuristic', into a new verdict set (the run's verdicts untouched)")
    c.add_argument("--set", dest="vset", metavar="NAME", help="the verdict set's name (default: the judges' keys"
                   " joined by '+'); an existing set is continued: its failed judges run again")
    c.add_argument("--db", metavar="PATH")

    c = cmd("compare", "compare two sessions on the items they share: B − A per target over the pairs both have"
                       " complete, with a paired 95%% interval")
    c.add_argument("a", help="session A (id, name or 'last')")
    c.add_argument("b", help="session B")
    c.add_argument("--human", action="store_true", help="let human labels replace judge scores")
    c.add_argument("--json", action="store_true", help="print the comparison as JSON")
    c.add_argument("--db", metavar="PATH")

    c = cmd("sessions", "list saved sessions")
    c.add_argument("--json", action="store_true", help="print the list as JSON (for scripts)")
    c.add_argument("--db", metavar="PATH")

    c = cmd("show", "print a saved session's SC-Safety tables")
    c.add_argument("session", help="session id or name ('last' for the newest)")
    c.add_argument("--human", action="store_true", help="let human labels replace judge scores")
    c.add_argument("--json", action="store_true", help="print the scores as JSON (for scripts)")
    c.add_argument("--set", dest="vset", metavar="NAME", default="",
                   help="scores from this verdict set (a rejudge's; default: the run's own)")
    c.add_argument("--against", metavar="NAME", default=None,
                   help="with --set: the set its agreement and disagreements are measured against (default: the"
                        " run's own)")
    c.add_argument("--db", metavar="PATH")

    c = cmd("export", "export a session as Markdown, CSV, JSON, JSONL (one answer per line) or HTML")
    c.add_argument("session", help="session id or name ('last' for the newest)")
    c.add_argument("--format", choices=("md", "csv", "json", "jsonl", "html"), default="md")
    c.add_argument("--excel", action="store_true",
                   help="CSV for Excel: starts with a UTF-8 byte-order mark, so Excel reads Chinese text right"
                        " (without it the CSV is plain UTF-8, as pandas and most tools expect)")
    c.add_argument("-o", "--output", metavar="PATH", help="output file (default: stdout)")
    c.add_argument("--human", action="store_true", help="let human labels replace judge scores")
    c.add_argument("--set", dest="vset", metavar="NAME", default="",
                   help="scores from this verdict set (a rejudge's; default: the run's own)")
    c.add_argument("--db", metavar="PATH")

    c = cmd("spot", "spot-check one prompt (and follow-up) against the chosen models")
    c.add_argument("prompt", nargs="?", help="the prompt; '-' reads it from stdin")
    c.add_argument("--follow-up", metavar="TEXT", help="a follow-up asked in the same conversation")
    c.add_argument("--targets", metavar="A,B", help="only these target keys")
    c.add_argument("--judge", metavar="KEY", help="a judge target key, or 'heuristic'")
    c.add_argument("--sub-dimension", metavar="ID", help="sub-dimension the judge should use (default: auto)")
    c.add_argument("--sample", type=int, metavar="K", help="run K bank items from every sub-dimension")
    c.add_argument("--bank", action="append", metavar="PATH", help="bank for --sample")
    c.add_argument("--seed", type=int, default=0, help="seed for --sample")
    c.add_argument("--json", action="store_true", help="print one JSON result, no live display")
    c.add_argument("--demo", action="store_true", help="use the built-in demo personas (no config needed)")
    c.add_argument("--config", metavar="PATH")
    c.add_argument("--db", metavar="PATH")

    c = cmd("judge", "measure judges against gold labels")
    jsub = c.add_subparsers(dest="judge_command", metavar="ACTION", required=True, parser_class=Parser)
    j = jsub.add_parser("eval", help="each judge (and the heuristic) over gold files: accuracy, weighted κ, "
                        "confusion matrix, unsafe recall; two judges or prompts compared by the paired Δκ",
                        description="each judge (and the heuristic) over gold files: accuracy, weighted κ, "
                        "confusion matrix, unsafe recall; two judges or prompts compared by the paired Δκ")
    j.add_argument("--gold", action="append", metavar="FILE", help="gold JSONL file (repeatable; default: the"
                   " shipped questions/judge_gold.jsonl)")
    j.add_argument("--judge", action="append", metavar="KEY", help="a [[judge.targets]] key or 'heuristic'"
                   " (repeatable; default: every configured judge and the heuristic)")
    j.add_argument("--prompt-file", action="append", metavar="FILE", help="rubric prompt file replacing"
                   " [judge] prompt_file (repeatable: each rubric judge is evaluated once per file)")
    j.add_argument("--json", action="store_true", help="the figures and every item's verdict as JSON")
    j.add_argument("--demo", action="store_true", help="judge with the demo server's judge and guard personas")
    j.add_argument("--config", metavar="PATH")
    j.add_argument("--db", metavar="PATH", help="where the evaluation is stored (default: platform data dir)")

    c = cmd("init", "write a starter config file")
    c.add_argument("path", nargs="?", help="where (default: platform config dir)")
    c.add_argument("--force", action="store_true", help="overwrite an existing file")

    c = cmd("config", "check a config file and print it resolved, secrets masked")
    csub = c.add_subparsers(dest="config_command", metavar="ACTION", required=True, parser_class=Parser)
    cc = csub.add_parser("check", help="validate and print the resolved config")
    cc.add_argument("path", nargs="?")

    c = cmd("questions", "validate, count or import question banks")
    qsub = c.add_subparsers(dest="questions_command", metavar="ACTION", required=True, parser_class=Parser)
    for name, help in (("validate", "check banks and report every problem"),
                       ("stats", "items per category and sub-dimension")):
        q = qsub.add_parser(name, help=help)
        q.add_argument("paths", nargs="*", metavar="PATH", help="bank files or folders (default: shipped bank)")
    q = qsub.add_parser("import", help="convert a public dataset into a bank")
    q.add_argument("format", help="jsonl, csv, json, safety-prompts, xsafety, flames, cvalues, jade, "
                   "chisafetybench, safedialbench")
    q.add_argument("src", nargs="+", help="source file(s)")
    q.add_argument("-o", "--output", required=True, metavar="BANK.jsonl")
    q.add_argument("--map", metavar="MAPPING.toml", help="category mapping overriding the default")
    q.add_argument("--field", action="append", metavar="NAME=COL", help="generic formats: which column holds what")
    q.add_argument("--limit", type=int, metavar="N")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--strict", action="store_true", help="fail on categories the mapping does not cover")
    q.add_argument("--follow-ups", choices=("none", "templates"), default="none",
                   help="templates: give each single-turn item a seeded template follow-up (round 2)")

    c = cmd("serve", "serve the app to browsers (textual-serve); loopback only unless --host says otherwise")
    c.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1; any other "
                   "host lets whoever reaches it read model output and start runs: there is no login)")
    c.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    c.add_argument("--public-url", metavar="URL", help="the URL browsers reach it by, when not http://HOST:PORT")
    c.add_argument("--config", metavar="PATH", help="config the served app uses")
    c.add_argument("--db", metavar="PATH", help="SQLite database the served app uses")

    c = cmd("demo-server", "run the loopback demo model server alone and print its URL")
    c.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    c.add_argument("--speed", choices=("realistic", "fast", "instant"), default="realistic")

    cmd("paths", "show where config, data and logs are kept")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = _handler(args)
    from scsafety_tui.logs import setup_logging

    setup_logging()  # the one file handler, for every command and the app
    return run_guarded(lambda: handler(args))


def _handler(args: argparse.Namespace) -> Callable[[argparse.Namespace], int]:
    from scsafety_tui import commands

    name = (args.command or "app").replace("-", "_")
    if name == "questions":
        name = f"questions_{args.questions_command}"
    elif name == "config":
        name = f"config_{args.config_command}"
    elif name == "judge":
        name = f"judge_{args.judge_command}"
    handler: Callable[[argparse.Namespace], int] = getattr(commands, f"cmd_{name}")
    return handler


def run_guarded(fn: Callable[[], int]) -> int:
    """Input errors print one line; bugs print one line pointing at the log file with the traceback."""
    from scsafety_tui.errors import InputError

    try:
        return fn()
    except InputError as e:
        from scsafety_tui.textsafe import visible

        # messages quote file contents and arguments: shown, never run by the terminal
        print(visible(f"scsafety-tui: {e}"), file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("scsafety-tui: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
    except Exception as e:
        from scsafety_tui.logs import log_exception

        where = log_exception(e)
        print(f"scsafety-tui: internal error: {type(e).__name__}: {e} (traceback in {where})",
              file=sys.stderr)
        return EXIT_BUG


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
