"""Field-report storage, the queries every route shares (with the caller's privacy), and moderation."""
