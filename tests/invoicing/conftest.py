import pytest

from invoicing.operator import operator_entity_ensure


@pytest.fixture
def operator(settings, sandbox):
    """The marketplace operator's entities, from the OPERATOR_* settings of a Slovenian one."""
    settings.OPERATOR_NAME = "Marketplace d.o.o."
    settings.OPERATOR_COUNTRY = "SI"
    settings.OPERATOR_VAT_NUMBER = "SI12345679"
    settings.OPERATOR_ADDRESS = "Dunajska 1"
    settings.OPERATOR_POST_CODE = "1000"
    settings.OPERATOR_CITY = "Ljubljana"
    return operator_entity_ensure()
