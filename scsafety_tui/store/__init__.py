"""The SQLite store: schema and migrations, the one connection and its writes, typed reads, replay."""
