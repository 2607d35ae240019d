"""The hub: web app, store, bus endpoint, and the supervisor of workers and Kamailio."""
