"""HTTP: the Flask app, its blueprints, errors and headers, metrics, limits, OpenAPI and the servers."""
