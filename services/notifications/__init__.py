"""Notifications: domain events told to the right people, in their inbox and by email.

``notifier.Notifier`` consumes events; ``inbox`` is a person's list of notifications;
``preferences`` their settings; ``emails`` sends the grouped emails; ``catalog`` says what
each event means to whom.
"""
