"""Field reports: reading uploads, validating rows, privacy of contributors, reports against the hazard."""
