"""A local stand-in for the TwSMS Voice API, for tests and the development instance.

It never ships with the integration. It implements the provider's contract from the
spec on its own (it shares no code with the client), so the client is tested against
an independent reading of the same document. Beyond the contract it can misbehave on
demand, as the provider and the network between do: see `FaultKind`, the `down` and
`report_overrides` switches and the `CallTiming` model in `server`.
"""

from .server import (
    Account,
    CallTiming,
    Fault,
    FaultKind,
    PhoneBehaviour,
    PlacedCall,
    ReceivedRequest,
    TwsmsSimulator,
    VoiceFormat,
)

__all__ = [
    "Account",
    "CallTiming",
    "Fault",
    "FaultKind",
    "PhoneBehaviour",
    "PlacedCall",
    "ReceivedRequest",
    "TwsmsSimulator",
    "VoiceFormat",
]
