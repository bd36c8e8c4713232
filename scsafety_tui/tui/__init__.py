"""The Textual app. Everything Textual lives here; the core never imports this package."""
