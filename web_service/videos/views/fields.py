"""Serializer fields that take JSON's types as the schema states them.

DRF's CharField takes a number for a string (0 becomes "0") and its
IntegerField a string or 1.0 for an integer; the API's schema says
`string` and `integer`, so a client that trusts either would be told
otherwise. These refuse what the schema refuses, with DRF's own sentence.
"""

from __future__ import annotations

from rest_framework import serializers


class StrictCharField(serializers.CharField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)
