"""What the staff's list APIs share."""

from django.db import models
from rest_framework import generics

from governance.staff.selectors import Jurisdiction, jurisdiction_for


# A list of what the account's jurisdiction holds: a subclass names its ``model`` and its
# ``rows``. drf-spectacular draws the schema with no account: it gets no rows. (A comment:
# drf-spectacular would show a docstring as each operation's description.)
class JurisdictionListAPI(generics.ListAPIView):
    model: type[models.Model]

    def rows(self, jurisdiction: Jurisdiction) -> models.QuerySet:
        raise NotImplementedError

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema: no account, no scope
            return self.model.objects.none()
        return self.rows(jurisdiction_for(self.request.user))
