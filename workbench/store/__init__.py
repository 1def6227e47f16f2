"""Persistence: the DuckDB database (connection, migrations, tables) and the image files."""
