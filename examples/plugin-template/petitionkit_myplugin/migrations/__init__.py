"""Alembic revisions of the plugin's own tables (a package only so that it is installed)."""
