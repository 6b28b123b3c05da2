"""The only package that imports SQLAlchemy: tables, repositories, read queries and the unit of work."""
