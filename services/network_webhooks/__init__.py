"""Webhooks the social networks send us: verified by each network's own mechanism first
(``verify``), read into activities (``parse``), stored once per organization whose account
they concern and announced (``inbox``)."""
