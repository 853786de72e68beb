"""Persistence: SQLModel tables, engine, migrations and bulk queries returning domain values."""
