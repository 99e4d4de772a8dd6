"""The smefin command: run, migrate, demo, generate, upload, bench."""
