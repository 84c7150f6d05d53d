"""Alert rules, the outbox and delivery channels."""
