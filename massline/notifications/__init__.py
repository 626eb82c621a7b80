"""Outgoing messages: the outbox and its senders."""
