"""Locust's side of live load: the locustfile that ``locust -f`` runs in its own processes
(gevent patches sockets there). Nothing in the kit imports this package: the kit starts Locust
as a command (``live.whatif.locust_load``) and talks to it through files and Locust's own
messages."""
