"""The HTTP side: server and routes, landing page, basic auth and the listener."""
