"""Staff: posts and jurisdiction (who sees and keeps what), and the routing of messages to
the staff of a unit (the inbox). Below the apps, above the kernel."""
