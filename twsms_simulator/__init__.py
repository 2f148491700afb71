"""A local stand-in for the TwSMS Voice API, for tests and the development instance.

It never ships with the integration. It implements the provider's contract from the
spec on its own (it shares no code with the client), so the client is tested against
an independent reading of the same document.
"""

from .server import (
    Account,
    Fault,
    FaultKind,
    PhoneBehaviour,
    PlacedCall,
    ReceivedRequest,
    TwsmsSimulator,
)

__all__ = [
    "Account",
    "Fault",
    "FaultKind",
    "PhoneBehaviour",
    "PlacedCall",
    "ReceivedRequest",
    "TwsmsSimulator",
]
