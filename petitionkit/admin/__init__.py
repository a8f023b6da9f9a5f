"""The organisers' workspace at /admin: staff accounts, sign-in with a second factor, roles,
the audit log and the petitions' figures (docs/workspace.md)."""
