"""Text on a seller's colour: black or white, whichever reads, in the storefront (sellers.branding)
and on the PDF Space Invoices' sandbox draws (invoicing.sandbox.render); both meet WCAG AA for
text (4.5:1) on every colour, and both choose alike."""

from hypothesis import given
from hypothesis import strategies as st

from invoicing.sandbox.render import text_color_on
from sellers.branding import contrast_ratio, readable_text_colour

colours = st.integers(min_value=0, max_value=0xFFFFFF).map(lambda value: f"#{value:06X}")


@given(colours)
def test_the_text_colour_meets_wcag_aa_on_every_colour_and_both_sides_agree(colour):
    text = readable_text_colour(colour)

    assert contrast_ratio(colour, text) >= 4.5
    assert text_color_on(colour) == text


def test_known_colours():
    assert readable_text_colour("#FFD700") == "#000000"  # white on gold would be 1.4:1
    assert readable_text_colour("#0B3D91") == "#FFFFFF"
    assert round(contrast_ratio("#FFD700", "#FFFFFF"), 2) == 1.4
