"""Operator commands that read or write the queue: status and enqueue."""
