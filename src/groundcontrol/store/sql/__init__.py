"""The SQL engines (SQLite, PostgreSQL): schema, rows, claims, migrations."""
