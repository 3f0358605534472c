"""The schema, its migrations, and the stores that read and write it.

SQLite (a WAL file) is the embedded default; PostgreSQL when ``DATABASE_URL`` says so.
"""
