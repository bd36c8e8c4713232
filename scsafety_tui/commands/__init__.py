"""One function per CLI command (`cmd_<name>`); each returns an exit code."""

from scsafety_tui.commands.banks import cmd_questions_import, cmd_questions_stats, cmd_questions_validate
from scsafety_tui.commands.compare import cmd_compare
from scsafety_tui.commands.configs import cmd_config_check, cmd_init, cmd_paths
from scsafety_tui.commands.judge import cmd_judge_eval
from scsafety_tui.commands.rejudge import cmd_rejudge
from scsafety_tui.commands.runs import cmd_app, cmd_demo, cmd_demo_server, cmd_resume, cmd_run
from scsafety_tui.commands.serve import cmd_serve
from scsafety_tui.commands.sessions import cmd_export, cmd_sessions, cmd_show
from scsafety_tui.commands.spot import cmd_spot

__all__ = ["cmd_app", "cmd_compare", "cmd_config_check", "cmd_demo", "cmd_demo_server", "cmd_export", "cmd_init",
           "cmd_judge_eval", "cmd_paths", "cmd_questions_import", "cmd_questions_stats", "cmd_questions_validate",
           "cmd_rejudge", "cmd_resume", "cmd_run", "cmd_serve", "cmd_sessions", "cmd_show", "cmd_spot"]
