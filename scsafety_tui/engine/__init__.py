"""The run: sessions (create/prepare/resume), the runner, one conversation, the attacker, rejudging."""
