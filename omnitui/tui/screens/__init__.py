"""The console's screens, one a file."""
