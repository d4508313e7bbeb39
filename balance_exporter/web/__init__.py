"""The HTTP side: server and routes, landing page, basic auth, TLS and the listener."""
