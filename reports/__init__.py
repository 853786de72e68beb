"""Rendering: plain data in, files out. Never opens a database session."""
