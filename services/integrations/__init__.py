"""Outgoing integrations: webhooks (signed JSON) and Slack incoming webhooks that receive an
organization's domain events. ``connections`` saves and lists them; ``delivery`` sends,
retries and logs."""
