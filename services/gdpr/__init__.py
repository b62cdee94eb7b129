"""GDPR: erasing an organization or a person from every store, and exporting what is held.

``erase`` removes; ``inventory`` says what a store still holds of a tenant (erasure checks
itself with it); ``export`` builds the archive of what is held about a person or an
organization.
"""
