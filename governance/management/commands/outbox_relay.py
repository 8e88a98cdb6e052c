"""python manage.py outbox_relay [--once]: deliver the outbox's pending messages.

--once delivers what is due now and exits (after an outage, from a shell); without it the
command keeps relaying every --every seconds (a deployment without a Celery worker)."""

import time

from django.core.management.base import BaseCommand

from governance.kernel import outbox


class Command(BaseCommand):
    help = "Deliver the outbox's pending messages (SMS, inbox, email, digests)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="deliver what is due now, then exit")
        parser.add_argument("--every", type=float, default=5.0, help="seconds between runs without --once")

    def handle(self, *args, once: bool, every: float, **options):
        while True:
            result = outbox.relay()
            health = outbox.health()
            self.stdout.write(
                f"delivered {result.delivered}, retried {result.retried}, failed {result.failed}, "
                f"taken back {result.reclaimed}; waiting {health['undelivered']} "
                f"(oldest {health['oldest_undelivered_seconds']} s), failed in all {health['failed']}"
            )
            if once:
                return
            time.sleep(every)
