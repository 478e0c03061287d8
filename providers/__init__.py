"""Provider adapters for Flask-Social-Auth, registered through entry points."""
