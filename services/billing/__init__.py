"""Billing: the plans and their limits, the subscription that pays for a plan, and usage.

``plans`` holds the catalog; ``limits.check`` is what the places that create work call (an
invitation, connecting an account, scheduling a post, a model call, an upload); ``access``
says what a subscription's state allows; ``subscriptions`` changes plans through the
payment gateway (``gateway``: local, or Stripe in ``stripe_gateway``) and keeps the stored
subscription in step with Stripe's; ``webhooks`` handles Stripe's events.
"""
