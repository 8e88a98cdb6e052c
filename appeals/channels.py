"""The outbox's channels appeals owns (governance.kernel.outbox): the residents' SMS and
the sweeps' digests. Registered when the app is ready."""

from appeals import escalation, sms
from governance.kernel import outbox


def register() -> None:
    outbox.register(sms.CHANNEL, sms.deliver)
    # A delivery round groups every pending digest item into one message per unit and kind.
    outbox.register(escalation.DIGEST, escalation.deliver_digests, local=True, batch=10_000)
