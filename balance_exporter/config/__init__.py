"""Configuration: YAML reading, the strict checker, durations, secrets, the web config."""
