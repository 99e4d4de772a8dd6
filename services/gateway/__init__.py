"""Gateway: the one public API; keys, scopes, tenancy, forwarding to the services."""
