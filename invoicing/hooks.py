"""The one hook invoicing declares: a document entered or left the books.

Reporting keeps its rollup of documents by seller and month through it, in the transaction that
issues or voids the document, without invoicing knowing of reporting: a listener registers at its
app's ready() (reporting.apps).
"""

from typing import Protocol

from invoicing.models import Document


class DocumentListener(Protocol):
    def document_issued(self, *, document: Document) -> None:
        """An invoice or credit note was issued (or mirrored issued); in that transaction."""

    def document_voided(self, *, document: Document) -> None:
        """An issued document was voided; in that transaction."""


_listeners: list[DocumentListener] = []


def document_listener_register(listener: DocumentListener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def document_issued(*, document: Document) -> None:
    for listener in _listeners:
        listener.document_issued(document=document)


def document_voided(*, document: Document) -> None:
    for listener in _listeners:
        listener.document_voided(document=document)
